"""mcpServerStatus/list and config/mcpServer/reload: the servers config.toml declares, started and asked.

Both servers launch the stand-in MCP server (fixtures/mcp_server.py, MCP's stdio transport) and report its
inventory; a server that cannot start is listed with upstream's `MCP startup failed: ...` tools error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.sync import Client
from fixtures import mcp_server

REPOSITORY = Path(__file__).resolve().parents[2]


def stand_in(name: str, *args: str, extra: str = "") -> str:
    """A `[mcp_servers.<name>]` table launching the stand-in with `args`."""
    argv = ", ".join(f'"{arg}"' for arg in ["-m", "fixtures.mcp_server", *args])
    return f'[mcp_servers.{name}]\ncommand = "{sys.executable}"\nargs = [{argv}]\ncwd = "{REPOSITORY}"\n{extra}\n'


def server(name: str, **fields: Any) -> dict[str, Any]:
    status = {
        "name": name,
        "runtimeStatus": None,
        "pluginId": None,
        "httpOrigin": None,
        "serverInfo": None,
        "serverCapabilities": None,
        "tools": {},
        "toolsError": None,
        "resources": [],
        "resourceTemplates": [],
        "authStatus": "unsupported",
    }
    return {**status, **fields}


SERVER_INFO = {**mcp_server.SERVER_INFO, "description": None, "icons": None, "websiteUrl": None}
FULL = server(
    "alpha",
    serverInfo=SERVER_INFO,
    serverCapabilities={"resources": {"subscribe": False, "listChanged": False}, "tools": {"listChanged": False}},
    tools={"echo": mcp_server.tool("echo")},
    resources=[mcp_server.RESOURCE],
    resourceTemplates=[mcp_server.TEMPLATE],
)
TOOLS_ONLY = server(
    "plain",
    serverInfo=SERVER_INFO,
    serverCapabilities={"tools": {"listChanged": False}},
    tools={"other": mcp_server.tool("other")},
)
DECLARED = (
    stand_in("plain", "--tool", "other", "--no-resources")
    + stand_in("alpha")
    + '[mcp_servers.missing]\ncommand = "/nonexistent/mcp-server"\n\n'
    + '[mcp_servers.off]\ncommand = "/bin/true"\nenabled = false\n'
)
MISSING = server("missing", toolsError="MCP startup failed: No such file or directory (os error 2)")


def listing(client: Client, params: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.request("mcpServerStatus/list", params)
    return result


def test_declared_servers_are_listed_by_name_with_what_they_offer(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml=DECLARED)
    assert listing(client, {}) == {"data": [FULL, MISSING, server("off"), TOOLS_ONLY], "nextCursor": None}


def test_tools_and_auth_only_leaves_resources_out(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml=DECLARED)
    result = listing(client, {"detail": "toolsAndAuthOnly", "serverName": "alpha"})
    assert result["data"] == [{**FULL, "resources": [], "resourceTemplates": []}]


def test_server_name_selects_one_server_and_an_unknown_name_none(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml=DECLARED)
    assert listing(client, {"serverName": "plain"})["data"] == [TOOLS_ONLY]
    assert listing(client, {"serverName": "nope"}) == {"data": [], "nextCursor": None}


def test_without_declared_servers_the_list_is_empty(app_server_factory: AppServerFactory) -> None:
    assert listing(app_server_factory(), {}) == {"data": [], "nextCursor": None}


def test_pages_follow_the_cursor_to_the_end(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml=DECLARED)
    names: list[str] = []
    cursors: list[str | None] = []
    cursor: str | None = None
    for _ in range(10):
        page = listing(client, {"limit": 3, "cursor": cursor, "detail": "toolsAndAuthOnly"})
        names += [entry["name"] for entry in page["data"]]
        cursor = page["nextCursor"]
        cursors.append(cursor)
        if cursor is None:
            break
    assert (names, cursors) == (["alpha", "missing", "off", "plain"], ["3", None])
    assert [entry["name"] for entry in listing(client, {"limit": 0, "serverName": "off"})["data"]] == ["off"]
    assert listing(client, {"cursor": "4"}) == {"data": [], "nextCursor": None}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "zz"}, "invalid cursor: zz"),
        ({"cursor": "-1"}, "invalid cursor: -1"),
        ({"cursor": "9"}, "cursor 9 exceeds total MCP servers 4"),
        (
            {"threadId": "nope"},
            "invalid thread id: invalid character: expected an optional prefix of `urn:uuid:` "
            "followed by [0-9a-fA-F-], found `n` at 1",
        ),
        (
            {"threadId": "019b0000-0000-7000-8000-000000000000"},
            "thread not found: 019b0000-0000-7000-8000-000000000000",
        ),
        ({"detail": "bogus"}, "Invalid request: unknown variant `bogus`, expected `full` or `toolsAndAuthOnly`"),
    ],
)
def test_bad_cursors_threads_and_details_are_refused(
    app_server_factory: AppServerFactory, params: dict[str, Any], message: str
) -> None:
    client = app_server_factory(config_toml=DECLARED)
    with pytest.raises(RpcResponseError) as excinfo:
        listing(client, params)
    assert (excinfo.value.code, excinfo.value.message) == (-32600, message)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (None, "missing field `params`"),
        ({"limit": "x"}, 'invalid type: string "x"'),
        ({"cursor": 5}, "invalid type: integer `5`, expected a string"),
        ({"serverName": True}, "invalid type: boolean `true`, expected a string"),
    ],
)
def test_params_of_the_wrong_type_are_invalid_requests(
    app_server_factory: AppServerFactory, params: Any, fragment: str
) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        listing(app_server_factory(), params)
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith("Invalid request: ")
    assert fragment in excinfo.value.message


def test_an_unreachable_http_server_reports_its_origin_and_the_failure(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml='[mcp_servers.web]\nurl = "http://127.0.0.1:1/mcp?key=secret"\n')
    [status] = listing(client, {})["data"]
    assert (status["httpOrigin"], status["authStatus"], status["tools"]) == ("http://127.0.0.1:1", "unknown", {})
    assert status["toolsError"].startswith("MCP startup failed: handshaking with MCP server failed: ")
    assert "error sending request for url (http://127.0.0.1:1/mcp?key=secret)" in status["toolsError"]


def test_a_server_that_never_answers_times_out_at_its_startup_timeout(app_server_factory: AppServerFactory) -> None:
    config = '[mcp_servers.silent]\ncommand = "/bin/sleep"\nargs = ["30"]\nstartup_timeout_sec = 1\n'
    [status] = listing(app_server_factory(config_toml=config), {})["data"]
    assert status["toolsError"].startswith("MCP startup failed: timed out handshaking with MCP server after ")
    assert status["tools"] == {}


def test_a_changed_config_shows_at_once_and_reload_answers_empty(
    app_server_factory: AppServerFactory, upstream_schema: Any
) -> None:
    client = app_server_factory(config_toml=stand_in("one", "--tool", "first"))
    assert list(listing(client, {})["data"][0]["tools"]) == ["first"]
    assert client.codex_home is not None
    (client.codex_home / "config.toml").write_text(stand_in("one", "--tool", "changed") + stand_in("two"))
    assert [(entry["name"], list(entry["tools"])) for entry in listing(client, {})["data"]] == [
        ("one", ["changed"]),
        ("two", ["echo"]),
    ]
    for params in (None, {}):
        result = client.request("config/mcpServer/reload", params)
        assert result == {}
        if upstream_schema is not None:
            upstream_schema.check("McpServerRefreshResponse", result)
    assert [entry["name"] for entry in listing(client, {})["data"]] == ["one", "two"]


@pytest.mark.parametrize(("params", "described"), [("x", 'string "x"'), ([], "sequence"), ({"a": 1}, "map")])
def test_reload_takes_no_params(app_server_factory: AppServerFactory, params: Any, described: str) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request("config/mcpServer/reload", params)
    expected = f"Invalid request: invalid type: {described}, expected unit"
    assert (excinfo.value.code, excinfo.value.message) == (-32600, expected)


def test_a_streamable_http_server_is_reached_at_its_url(app_server_factory: AppServerFactory) -> None:
    with mcp_server.McpHttpServer(tool_name="remote") as remote:
        client = app_server_factory(config_toml=f'[mcp_servers.web]\nurl = "{remote.endpoint}"\n')
        [status] = listing(client, {})["data"]
        methods = list(remote.methods)
        host = remote.url
    assert status == {
        **FULL,
        "name": "web",
        "httpOrigin": host,
        "authStatus": "unknown",
        "tools": {"remote": mcp_server.tool("remote")},
    }
    assert methods[:2] == ["initialize", "notifications/initialized"]
    assert "tools/list" in methods
