"""initialize and the protocol's error rules; these speak only the protocol, so they run against any server."""

from __future__ import annotations

import json

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory


def test_initialize_reports_user_agent_home_and_platform(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(initialize=False)
    result = client.request("initialize", {"clientInfo": {"name": "my-client", "title": "Mine", "version": "1.2.3"}})
    assert result["codexHome"] == str(client.codex_home)
    assert result["platformFamily"] == "unix"
    assert result["platformOs"] == "linux"
    assert result["userAgent"].startswith("my-client/0.163.0 (")
    assert result["userAgent"].endswith("(my-client; 1.2.3)")


def test_request_before_initialize_is_rejected_and_initialize_still_works(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(initialize=False)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("fs/getMetadata", {"path": "/"})
    assert (excinfo.value.code, excinfo.value.message) == (-32600, "Not initialized")
    client.initialize()
    assert client.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_second_initialize_is_rejected(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("initialize", {"clientInfo": {"name": "again", "version": "0"}})
    assert (excinfo.value.code, excinfo.value.message) == (-32600, "Already initialized")


def test_initialize_without_client_info_names_the_field(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(initialize=False)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("initialize", {})
    assert excinfo.value.code == -32600
    assert "missing field `clientInfo`" in excinfo.value.message


def test_initialize_without_params_names_params(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(initialize=False)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("initialize")
    assert "missing field `params`" in excinfo.value.message


def test_unknown_method_is_invalid_request_naming_the_method(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("no/such/method", {})
    assert excinfo.value.code == -32600
    assert "unknown variant `no/such/method`" in excinfo.value.message
    assert "`initialize`" in excinfo.value.message


def test_invalid_params_name_the_field(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("fs/getMetadata", {})
    assert excinfo.value.code == -32600
    assert "missing field `path`" in excinfo.value.message
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("fs/getMetadata", {"path": 123})
    assert "invalid type: integer `123`" in excinfo.value.message


def test_string_and_integer_ids_are_echoed_verbatim(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    for request_id in ("str-id-1", 0, -5, 2**40):
        client.send_raw(json.dumps({"id": request_id, "method": "fs/getMetadata", "params": {"path": "/"}}))
    # Responses to raw sends are not routed to a pending request; a follow-up proves the server is alive
    # and the ids are checked by the unit tests of the core.
    assert client.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_malformed_input_never_kills_the_connection(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    for line in ['{"id":4,"method":"fs/getMetadata",', "not json at all", "[1,2,3]", '{"id":77}', "", '"str"']:
        client.send_raw(line)
    assert client.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_opted_out_notifications_are_never_sent(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(opt_out=["configWarning", "remoteControl/status/changed"])
    client.request("fs/getMetadata", {"path": "/"})
    client.assert_no("configWarning", within=0.3)
    client.assert_no("remoteControl/status/changed", within=0.1)


def test_end_of_input_exits_cleanly(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    client.close_stdin()
    assert client.wait_exit() == 0
