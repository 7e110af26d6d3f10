"""Raw sends get their answers back; the blocking facade refuses calls that would deadlock its loop."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codex_app_harness import HarnessError, NotificationTimeout
from tests.harness.conftest import FakeServer
from tests.harness.steps import await_answer, expect, notify, on, reply, request


def test_the_answer_to_a_raw_send_is_buffered_for_wait_for_response(fake_server: FakeServer) -> None:
    client = fake_server(on("test/echo", {"ok": True}))
    client.send_raw(json.dumps({"id": "raw-1", "method": "test/echo"}))
    client.send_raw(json.dumps({"id": 99, "method": "no/rule"}))
    assert client.wait_for_response(99)["error"]["code"] == -32601
    assert client.wait_for_response("raw-1") == {"id": "raw-1", "result": {"ok": True}}


def test_ids_are_compared_as_json_values(fake_server: FakeServer) -> None:
    client = fake_server(on("test/echo", {}))
    client.send_raw(json.dumps({"id": 1, "method": "test/echo"}))
    client.send_raw(json.dumps({"id": 2, "method": "test/echo"}))
    client.wait_for_response(2)  # answered in order: the answer to 1 is buffered by now
    with pytest.raises(NotificationTimeout, match=r"responses nobody waited for \(ids\): 1"):
        client.wait_for_response("1", timeout=0.2)


def test_a_blocking_call_from_a_responder_is_refused_not_deadlocked(fake_server: FakeServer) -> None:
    client = fake_server(request("item/tool/call", 1), await_answer(1))

    def reentrant(_params: dict[str, Any]) -> Any:
        return client.request("other/method")

    client.respond_to("item/tool/call", reentrant)
    error = client.wait_for("fake/answered", id=1)["error"]
    assert "would deadlock" in error["message"]


def test_the_sync_client_is_a_context_manager(fake_server: FakeServer) -> None:
    with fake_server() as client:
        assert client.buffered() == []
    assert client.inner.closed is not None


def test_harness_errors_are_one_family() -> None:
    assert issubclass(NotificationTimeout, HarnessError)
    assert issubclass(NotificationTimeout, AssertionError)


def test_a_notification_failing_validation_is_recorded_and_still_delivered(fake_server: FakeServer) -> None:
    client = fake_server(expect("test/go"), notify("odd/shape", x=1), notify("other", y=2), reply("test/go"))

    def strict(kind: str, message: dict[str, Any]) -> None:
        if message.get("method") == "odd/shape":
            raise AssertionError("odd/shape is not in the schema")
        if message.get("method") == "other":
            raise KeyError("validator bug")

    client.inner.validators.append(strict)
    client.request("test/go")
    assert client.wait_for("odd/shape") == {"x": 1}
    assert client.wait_for("other") == {"y": 2}
    assert [str(error) for error in client.inner.validation_errors] == [
        "odd/shape is not in the schema",
        "validator failed on other: KeyError('validator bug')",
    ]
