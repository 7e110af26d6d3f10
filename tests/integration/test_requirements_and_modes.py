"""configRequirements/read and collaborationMode/list, as upstream 0.163 answers them.

Upstream reads administrator requirements from `/etc/codex/requirements.toml` only, which a test cannot
write for one server; both servers are checked without that file here, and the translation of a file is
pinned by tests/server/test_config_requirements.py (measured on upstream in a private mount namespace).
"""

from __future__ import annotations

from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory

NO_REQUIREMENTS = {"supportsIndependentSpeedModes": True, "requirements": None}
PRESETS = [
    {"name": "Plan", "mode": "plan", "model": None, "reasoning_effort": "medium"},
    {"name": "Default", "mode": "default", "model": None, "reasoning_effort": None},
]


@pytest.mark.parametrize("params", [None, {}])
def test_without_a_requirements_file_there_are_no_requirements(
    app_server_factory: AppServerFactory, upstream_schema: Any, params: Any
) -> None:
    result = app_server_factory().request("configRequirements/read", params)
    assert result == NO_REQUIREMENTS
    if upstream_schema is not None:
        upstream_schema.check("ConfigRequirementsReadResponse", result)


@pytest.mark.parametrize(
    ("params", "described"),
    [("x", 'string "x"'), ([1], "sequence"), ([], "sequence"), ({"a": 1}, "map"), (5, "integer `5`")],
)
def test_requirements_take_no_params(app_server_factory: AppServerFactory, params: Any, described: str) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request("configRequirements/read", params)
    expected = f"Invalid request: invalid type: {described}, expected unit"
    assert (excinfo.value.code, excinfo.value.message) == (-32600, expected)


@pytest.mark.parametrize("params", [{}, [], {"ignored": 1}])
def test_collaboration_modes_are_upstreams_presets(app_server_factory: AppServerFactory, params: Any) -> None:
    assert app_server_factory(experimental_api=True).request("collaborationMode/list", params) == {"data": PRESETS}


def test_collaboration_modes_need_the_experimental_api(app_server_factory: AppServerFactory) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request("collaborationMode/list", {})
    assert (excinfo.value.code, excinfo.value.message) == (
        -32600,
        "collaborationMode/list requires experimentalApi capability",
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [(None, "Invalid request: missing field `params`"), ("s", 'Invalid request: invalid type: string "s", expected ')],
)
def test_collaboration_modes_refuse_params_that_are_not_an_object(
    app_server_factory: AppServerFactory, params: Any, message: str
) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory(experimental_api=True).request("collaborationMode/list", params)
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith(message)
