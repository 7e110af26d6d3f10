"""The upstream method table and the README table are what upstream's schema and our handlers say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server import method_catalog
from server.handlers import load_method_table
from server.protocol.upstream_methods import UPSTREAM_CLIENT_METHODS
from server.rpc import Connection, Reply, ServerInfo


@pytest.mark.parametrize("generated", [method_catalog.DATA_MODULE, method_catalog.README], ids=lambda p: p.name)
def test_committed_copy_matches_a_fresh_generation(schema_dir: Path, generated: Path) -> None:
    expected = method_catalog.expected_files(schema_dir)[generated]
    assert generated.read_text() == expected, (
        f"{generated.name} drifted from upstream's schema or the method table: "
        f"run `python -m server.method_catalog --schema {schema_dir}`"
    )


def test_every_method_we_implement_is_an_upstream_method() -> None:
    # getAuthStatus is a legacy v1 method: upstream still routes it (it is in its "expected one of" list)
    # but its v2 schema no longer declares it.
    assert set(load_method_table().names()) - set(UPSTREAM_CLIENT_METHODS) == {"getAuthStatus"}


def test_check_mode_reports_drift_without_writing(tmp_path: Path, schema_dir: Path) -> None:
    shrunk = json.loads((schema_dir / "ClientRequest.json").read_text())
    shrunk["oneOf"] = shrunk["oneOf"][:-1]
    (tmp_path / "ClientRequest.json").write_text(json.dumps(shrunk))
    before = method_catalog.DATA_MODULE.read_text()
    assert method_catalog.main(["--schema", str(tmp_path), "--check"]) == 1
    assert method_catalog.main(["--schema", str(schema_dir), "--check"]) == 0
    assert method_catalog.DATA_MODULE.read_text() == before


def call(method: str) -> dict[str, Any]:
    connection = Connection(ServerInfo(codex_home=Path("/home/x/.codex")), load_method_table)
    init = {"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}
    assert isinstance(connection.receive(json.dumps(init)), Reply)
    event = connection.receive(json.dumps({"id": 1, "method": method, "params": {}}))
    assert isinstance(event, Reply), event
    error: dict[str, Any] = json.loads(event.data)["error"]
    return error


def test_an_upstream_method_we_lack_says_so_with_upstreams_code() -> None:
    # [1:]: initialize comes first and is answered by the core itself, not the table.
    missing = next(name for name in UPSTREAM_CLIENT_METHODS[1:] if load_method_table().get(name) is None)
    assert call(missing) == {
        "code": -32600,
        "message": f"`{missing}` exists in the upstream codex app-server protocol (0.163), "
        "but this compact server does not implement it",
    }


def test_a_method_nobody_has_is_still_an_unknown_variant() -> None:
    error = call("no/such/method")
    assert error["code"] == -32600
    assert error["message"].startswith("Invalid request: unknown variant `no/such/method`, expected one of ")


def test_params_types_use_serdes_names_for_structs_tagged_enums_and_optional_params(schema_dir: Path) -> None:
    types = method_catalog.params_types_from_schema(schema_dir)
    assert types["thread/start"] == "struct ThreadStartParams"
    assert types["account/login/start"] == "internally tagged enum LoginAccountParams"
    assert types["account/rateLimits/read"] == "struct GetAccountRateLimitsParams"  # Option<Params>: the inner type
    assert "account/logout" not in types  # unit params: serde says "expected unit", no type name
