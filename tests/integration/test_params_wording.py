"""Params that are not an object at all are refused with serde's wording, naming upstream's params type.

Upstream deserializes `params` into the method's Rust type, so a string, number or boolean gets "invalid type:
<value>, expected struct <Name>" (or "internally tagged enum <Name>" for a tagged enum) with -32600. The
names are upstream's, measured with the 0.163 binary; ours are sometimes shared or named otherwise, which is
why the server takes them from upstream's generated schema. The same table runs against both servers.
"""

from __future__ import annotations

from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory

UPSTREAM_TYPES = {
    "thread/start": "struct ThreadStartParams",
    "thread/read": "struct ThreadReadParams",
    "thread/name/set": "struct ThreadSetNameParams",
    "turn/start": "struct TurnStartParams",
    "config/read": "struct ConfigReadParams",
    "fs/readFile": "struct FsReadFileParams",
    "model/list": "struct ModelListParams",
    "command/exec": "struct CommandExecParams",
    "account/login/start": "internally tagged enum LoginAccountParams",
    "account/rateLimits/read": "struct GetAccountRateLimitsParams",
    "skills/list": "struct SkillsListParams",
    "mcpServerStatus/list": "struct ListMcpServerStatusParams",
    "thread/realtime/listVoices": "struct ThreadRealtimeListVoicesParams",
    "getAuthStatus": "struct GetAuthStatusParams",
}
"""A sample across namespaces: plain structs, a tagged enum, an `Option<Params>` and a legacy v1 method."""

NOT_AN_OBJECT = [("s", 'string "s"'), (42, "integer `42`"), (True, "boolean `true`"), (1.5, "floating point `1.5`")]


def refusal(client: Any, method: str, params: Any) -> tuple[int, str]:
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(method, params)
    return excinfo.value.code, excinfo.value.message


@pytest.mark.parametrize("method", list(UPSTREAM_TYPES))
def test_params_that_are_not_an_object_name_upstreams_type(app_server_factory: AppServerFactory, method: str) -> None:
    client = app_server_factory(experimental_api=True)
    for params, described in NOT_AN_OBJECT:
        expected = f"Invalid request: invalid type: {described}, expected {UPSTREAM_TYPES[method]}"
        assert refusal(client, method, params) == (-32600, expected), params


@pytest.mark.parametrize("method", ["thread/read", "fs/readFile", "thread/realtime/listVoices"])
def test_absent_params_of_a_method_that_needs_them_are_a_missing_field(
    app_server_factory: AppServerFactory, method: str
) -> None:
    # The harness omits `params` when given None; an explicit null is sent raw and answered the same way.
    client = app_server_factory(experimental_api=True)
    assert refusal(client, method, None) == (-32600, "Invalid request: missing field `params`")
    client.send_raw(f'{{"id": "null-params", "method": "{method}", "params": null}}')
    answer = client.wait_for_response("null-params")
    assert answer["error"] == {"code": -32600, "message": "Invalid request: missing field `params`"}


@pytest.mark.parametrize(("params", "described"), [*NOT_AN_OBJECT, ([], "sequence")])
def test_a_method_without_params_refuses_any_value_as_unit(
    app_server_factory: AppServerFactory, params: Any, described: str
) -> None:
    client = app_server_factory()
    expected = f"Invalid request: invalid type: {described}, expected unit"
    assert refusal(client, "account/logout", params) == (-32600, expected)


WRONG_FIELDS = [
    ("config/read", {"includeLayers": "true"}, 'invalid type: string "true", expected a boolean'),
    ("thread/list", {"archived": 1}, "invalid type: integer `1`, expected a boolean"),
    ("thread/list", {"limit": "5"}, 'invalid type: string "5", expected u32'),
    ("thread/list", {"limit": 5.0}, "invalid type: floating point `5.0`, expected u32"),
    ("thread/list", {"limit": -1}, "invalid value: integer `-1`, expected u32"),
    ("thread/list", {"limit": 2**32}, "invalid value: integer `4294967296`, expected u32"),
    ("model/list", {"includeHidden": "false"}, 'invalid type: string "false", expected a boolean'),
    ("experimentalFeature/list", {"limit": "3"}, 'invalid type: string "3", expected u32'),
]
"""Fields of the wrong type, refused by serde on 0.163 (measured); a lenient parser took all but the last
three ("true" and 1 as booleans, "5" and 5.0 as numbers, 2**32 as a page size)."""


@pytest.mark.parametrize(("method", "params", "message"), WRONG_FIELDS)
def test_a_field_of_the_wrong_type_is_refused_like_serde_does(
    app_server: Any, method: str, params: dict[str, Any], message: str
) -> None:
    code, text = refusal(app_server, method, params)
    # Ours names the offending field after the message (" at `limit`"); upstream's stops before.
    assert (code, text.partition(" at `")[0]) == (-32600, f"Invalid request: {message}")
