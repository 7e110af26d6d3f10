"""The pure JSON-RPC core: decisions for every kind of input, no I/O involved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.fs.registry import DuplicateWatchId
from server.handlers import load_method_table
from server.protocol.errors import InvalidRequest
from server.rpc import ClientReply, Connection, Dispatch, Ignored, Reply, ServerInfo

INIT = {"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}


def connect(**kwargs: Any) -> Connection:
    return Connection(ServerInfo(codex_home=Path("/home/x/.codex")), load_method_table, **kwargs)


def initialized(**kwargs: Any) -> Connection:
    connection = connect(**kwargs)
    assert isinstance(connection.receive(json.dumps(INIT)), Reply)
    return connection


def reply(event: object) -> dict[str, Any]:
    assert isinstance(event, Reply), event
    decoded: dict[str, Any] = json.loads(event.data)
    return decoded


def request(request_id: object, method: str = "fs/getMetadata", params: object = None) -> str:
    message: dict[str, Any] = {"id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message)


def test_initialize_result_has_upstream_keys_in_order() -> None:
    result = reply(connect().receive(json.dumps(INIT)))
    assert list(result) == ["id", "result"]
    assert list(result["result"]) == ["userAgent", "codexHome", "platformFamily", "platformOs"]
    assert result["result"]["codexHome"] == "/home/x/.codex"


def test_errors_put_error_before_id_like_upstream() -> None:
    assert list(reply(connect().receive(request(1, params={"path": "/"})))) == ["error", "id"]


def test_params_are_validated_before_the_initialized_check() -> None:
    error = reply(connect().receive(request(2, params={"path": "relative"})))["error"]
    assert error["code"] == -32600
    assert "AbsolutePathBuf deserialized without a base path" in error["message"]


def test_valid_request_before_initialize_is_not_initialized() -> None:
    assert reply(connect().receive(request(2, params={"path": "/"})))["error"] == {
        "code": -32600,
        "message": "Not initialized",
    }


def test_dispatch_after_initialize_carries_the_id_verbatim() -> None:
    connection = initialized()
    for request_id in ("abc", 0, -5, 2**53):
        event = connection.receive(request(request_id, params={"path": "/"}))
        assert isinstance(event, Dispatch)
        assert event.request_id == request_id
        assert json.loads(connection.finish(request_id, {"ok": True})) == {"id": request_id, "result": {"ok": True}}


@pytest.mark.parametrize("request_id", [None, 1.5, True, [1], {"a": 1}])
def test_requests_with_unusable_ids_are_treated_as_notifications(request_id: object) -> None:
    assert initialized().receive(request(request_id, params={"path": "/"})) == Ignored()


@pytest.mark.parametrize(
    "line",
    ['{"id":4,"method":"fs/getMetadata",', "not json", "[1,2,3]", '{"id":77}', "", '"x"', "\xff".encode("latin-1")],
)
def test_malformed_input_is_ignored_with_a_log_line(line: str | bytes) -> None:
    event = initialized().receive(line)
    assert isinstance(event, Ignored)
    assert event.log


def test_positional_params_are_accepted_like_upstream() -> None:
    event = initialized().receive(request(1, params=["/tmp"]))
    assert isinstance(event, Dispatch)
    assert event.params.path == "/tmp"


def test_in_flight_limit_answers_overloaded_and_recovers() -> None:
    connection = initialized(max_in_flight=2)
    assert isinstance(connection.receive(request(1, params={"path": "/"})), Dispatch)
    connection.started()
    assert isinstance(connection.receive(request(2, params={"path": "/"})), Dispatch)
    connection.started()
    assert reply(connection.receive(request(3, params={"path": "/"})))["error"] == {
        "code": -32001,
        "message": "Server overloaded; retry later.",
    }
    connection.finish(1, {})
    assert isinstance(connection.receive(request(4, params={"path": "/"})), Dispatch)


def test_only_requests_being_handled_count_toward_the_in_flight_limit() -> None:
    """Dispatched requests whose handlers have not started yet are queued lines, not load."""
    connection = initialized(max_in_flight=2)
    events = [connection.receive(request(i, params={"path": "/"})) for i in range(10)]
    assert all(isinstance(event, Dispatch) for event in events)


def test_unexpected_exceptions_do_not_leak_details() -> None:
    connection = initialized()
    connection.receive(request(9, params={"path": "/"}))
    error = json.loads(connection.finish(9, error=KeyError("secret-token-value")))["error"]
    assert error["code"] == -32603
    assert "secret-token-value" not in error["message"]


def test_rpc_errors_keep_their_code_and_message() -> None:
    connection = initialized()
    connection.receive(request(9, params={"path": "/"}))
    error = json.loads(connection.finish(9, error=InvalidRequest("bad thing")))["error"]
    assert error == {"code": -32600, "message": "bad thing"}


def test_os_errors_are_worded_once_in_the_core_like_upstreams_io_errors() -> None:
    # Handlers let the OS's refusals through; the core words them as Rust's io::Error Display does.
    connection = initialized()
    connection.receive(request(9, params={"path": "/"}))
    error = json.loads(connection.finish(9, error=FileNotFoundError(2, "No such file or directory")))["error"]
    assert error == {"code": -32603, "message": "No such file or directory (os error 2)"}


def test_domain_errors_carry_their_code_and_message_to_the_wire() -> None:
    connection = initialized()
    connection.receive(request(9, params={"path": "/"}))
    error = json.loads(connection.finish(9, error=DuplicateWatchId("w1")))["error"]
    assert error == {"code": -32600, "message": "watchId already exists: w1"}


def test_notifications_carry_emitted_at_and_respect_opt_out() -> None:
    connection = connect()
    init = json.loads(json.dumps(INIT))
    init["params"]["capabilities"] = {"optOutNotificationMethods": ["configWarning"]}
    connection.receive(json.dumps(init))
    assert connection.notification("configWarning", {}) is None
    note = json.loads(connection.notification("fs/changed", {"watchId": "w"}) or "")
    assert list(note) == ["method", "params", "emittedAtMs"]
    assert isinstance(note["emittedAtMs"], int)


def test_server_requests_match_client_replies_once() -> None:
    connection = initialized()
    request_id, data = connection.server_request("item/tool/call", {"x": 1})
    assert json.loads(data) == {"id": request_id, "method": "item/tool/call", "params": {"x": 1}}
    event = connection.receive(json.dumps({"id": request_id, "result": {"ok": 1}}))
    assert event == ClientReply(request_id, "item/tool/call", {"ok": 1}, None)
    assert connection.receive(json.dumps({"id": request_id, "result": {}})) == Ignored()


def test_experimental_methods_need_the_capability() -> None:
    from server.rpc import MethodSpec

    class Table:
        def get(self, name: str) -> MethodSpec | None:
            return MethodSpec(name, lambda raw: raw, _never, experimental=True) if name == "exp/x" else None

        def names(self) -> Iterator[str]:
            return iter(["exp/x"])

    connection = Connection(ServerInfo(codex_home=Path("/h")), Table)
    connection.receive(json.dumps(INIT))
    error = reply(connection.receive(request(1, "exp/x", {})))["error"]
    assert error == {"code": -32600, "message": "exp/x requires experimentalApi capability"}


async def _never(session: object, params: object) -> None:
    raise AssertionError("not called")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), json_values.map(json.dumps)))
def test_any_input_yields_an_event_and_the_connection_keeps_answering(line: bytes | str) -> None:
    connection = initialized()
    event = connection.receive(line)
    assert isinstance(event, Reply | Dispatch | ClientReply | Ignored)
    if isinstance(event, Dispatch):
        connection.finish(event.request_id, {})
    follow_up = connection.receive(request("after", params={"path": "/"}))
    assert isinstance(follow_up, Dispatch)
    assert follow_up.request_id == "after"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "method", "params", "jsonrpc", "result", "error"]), json_values))
def test_random_message_objects_never_raise(message: dict[str, Any]) -> None:
    connection = initialized()
    event = connection.receive(json.dumps(message))
    assert isinstance(event, Reply | Dispatch | ClientReply | Ignored)
