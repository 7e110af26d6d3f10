"""model/list: upstream's built-in catalog, a provider's `/models` catalog, a catalog file, paging, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, model_info

BUILTIN_LISTED = [
    "gpt-6.1-sol",
    "gpt-6-astra",
    "gpt-6-sol",
    "gpt-6-luna",
    "gpt-5.6-sol",
    "gpt-5.6-terra",
    "gpt-5.6-luna",
    "gpt-5.5",
]
"""Upstream 0.163's bundled catalog, in priority order, without its hidden models."""
BUILTIN_HIDDEN = ["gpt-daybreak-blue-latest", "gpt-daybreak-red-latest", "codex-auto-review"]


def ids(result: dict[str, Any]) -> list[str]:
    return [model["id"] for model in result["data"]]


def test_without_a_catalog_the_built_in_models_are_listed(app_server_factory: AppServerFactory) -> None:
    result = app_server_factory().request("model/list", {})
    assert ids(result) == BUILTIN_LISTED
    assert result["nextCursor"] is None
    first = result["data"][0]
    assert (first["isDefault"], first["hidden"], first["model"]) == (True, False, "gpt-6.1-sol")
    assert [model["isDefault"] for model in result["data"][1:]] == [False] * 7
    legacy = result["data"][-1]
    assert legacy["upgrade"] == legacy["upgradeInfo"]["model"] == "gpt-6-sol"
    assert {"reasoningEffort": "medium", "description": "Balances speed and reasoning depth for everyday tasks"} in (
        legacy["supportedReasoningEfforts"]
    )


def test_include_hidden_adds_the_hidden_models(app_server_factory: AppServerFactory) -> None:
    result = app_server_factory().request("model/list", {"includeHidden": True})
    assert sorted(ids(result)) == sorted(BUILTIN_LISTED + BUILTIN_HIDDEN)
    assert {model["id"] for model in result["data"] if model["hidden"]} == set(BUILTIN_HIDDEN)


def test_pages_follow_the_cursor_to_the_end(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    seen: list[str] = []
    cursors: list[str | None] = []
    cursor: str | None = None
    for _ in range(10):
        result = client.request("model/list", {"limit": 3, "cursor": cursor})
        seen += ids(result)
        cursor = result["nextCursor"]
        cursors.append(cursor)
        if cursor is None:
            break
    assert seen == BUILTIN_LISTED
    assert cursors == ["3", "6", None]
    assert ids(client.request("model/list", {"limit": 0})) == BUILTIN_LISTED[:1]
    assert client.request("model/list", {"cursor": str(len(BUILTIN_LISTED))}) == {"data": [], "nextCursor": None}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "zzz"}, "invalid cursor: zzz"),
        ({"cursor": "-1"}, "invalid cursor: -1"),
        ({"cursor": "100"}, "cursor 100 exceeds total models 8"),
    ],
)
def test_a_cursor_that_is_not_ours_is_refused(
    app_server_factory: AppServerFactory, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request("model/list", params)
    assert (excinfo.value.code, excinfo.value.message) == (-32600, message)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (None, "missing field `params`"),
        ({"limit": "x"}, 'invalid type: string "x"'),
        ({"limit": -1}, "-1"),
        ({"includeHidden": "yes"}, 'invalid type: string "yes", expected a boolean'),
        ({"cursor": 5}, "invalid type: integer `5`"),
    ],
)
def test_params_of_the_wrong_type_are_invalid_requests(
    app_server_factory: AppServerFactory, params: Any, fragment: str
) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request("model/list", params)
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith("Invalid request: ")
    assert fragment in excinfo.value.message


def login_with_api_key(client: Any, key: str = "sk-catalog") -> None:
    client.request("account/login/start", {"type": "apiKey", "apiKey": key})
    client.wait_for("account/updated")


def test_a_provider_catalog_is_fetched_with_the_client_version_and_key(
    app_server_factory: AppServerFactory, model: ResponsesApiStub
) -> None:
    model.catalog = [
        model_info("stub-second", 2, display_name="Second"),
        model_info("stub-first", 1, display_name="First", upgrade=None),
        model_info("stub-hidden", 3, visibility="hide"),
    ]
    client = app_server_factory(config_toml=model.catalog_provider_toml())
    login_with_api_key(client)
    result = client.request("model/list", {})
    assert ids(result) == ["stub-first", "stub-second"]
    assert [m["displayName"] for m in result["data"]] == ["First", "Second"]
    assert [m["isDefault"] for m in result["data"]] == [True, False]
    assert result["data"][0]["upgradeInfo"] is None
    assert ids(client.request("model/list", {"includeHidden": True}))[-1] == "stub-hidden"
    fetches = [r for r in model.requests if r.method == "GET" and r.path.startswith("/v1/models")]
    assert fetches, "the catalog was never fetched"
    assert fetches[-1].path == "/v1/models?client_version=0.163.0"
    assert fetches[-1].headers.get("authorization", fetches[-1].headers.get("Authorization")) == "Bearer sk-catalog"


def test_a_provider_catalog_that_fails_lists_nothing(
    app_server_factory: AppServerFactory, model: ResponsesApiStub
) -> None:
    client = app_server_factory(config_toml=model.catalog_provider_toml())  # no catalog set: /models is a 404
    login_with_api_key(client)
    assert client.request("model/list", {}) == {"data": [], "nextCursor": None}


def test_a_catalog_file_replaces_the_built_in_models(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    catalog = tmp_path / "models.json"
    catalog.write_text(json.dumps({"models": [model_info("file-model", 1)]}))
    client = app_server_factory(config_toml=f'model_catalog_json = "{catalog}"\n')
    assert ids(client.request("model/list", {})) == ["file-model"]


def test_an_unreadable_catalog_file_falls_back_to_the_built_in_models(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    catalog = tmp_path / "models.json"
    catalog.write_text(json.dumps({"models": [{"slug": "incomplete"}]}))
    client = app_server_factory(config_toml=f'model_catalog_json = "{catalog}"\n')
    assert ids(client.request("model/list", {})) == BUILTIN_LISTED
