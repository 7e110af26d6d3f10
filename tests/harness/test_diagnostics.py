"""A timeout explains itself: what was awaited, what arrived instead, what is still outstanding."""

from __future__ import annotations

import pytest

from codex_app_harness import Chaos, NotificationTimeout, ServerExited
from tests.harness.conftest import FakeServer
from tests.harness.steps import exit_with, expect, notify, reply, request, stderr, stdout


def timeout_message(excinfo: pytest.ExceptionInfo[NotificationTimeout]) -> str:
    return str(excinfo.value)


def test_timeout_names_the_method_and_matcher_and_counts_what_is_buffered(fake_server: FakeServer) -> None:
    client = fake_server(
        expect("test/go"),
        notify("item/started", item={"id": "i1"}),
        notify("item/started", item={"id": "i2"}),
        notify("turn/started", turn={"id": "t1"}),
        reply("test/go"),
    )
    client.request("test/go")
    with pytest.raises(NotificationTimeout) as excinfo:
        client.wait_for("item/completed", timeout=0.2, **{"item.id": "i1"})
    message = timeout_message(excinfo)
    assert message.startswith("timed out after 0.2s waiting for item/completed(item.id='i1') from ")
    assert "buffered notifications: item/started x2, turn/started x1" in message
    assert "similar methods: item/started" in message


def test_timeout_shows_the_closest_near_miss_and_what_it_missed(fake_server: FakeServer) -> None:
    client = fake_server(
        expect("test/go"),
        notify("item/completed", threadId="t9", item={"type": "agentMessage", "id": "m1"}),
        notify("item/completed", threadId="t1", item={"type": "agentMessage", "id": "m2"}),
        reply("test/go"),
    )
    client.request("test/go")
    with pytest.raises(NotificationTimeout) as excinfo:
        client.wait_for("item/completed", timeout=0.2, threadId="t1", **{"item.type": "commandExecution"})
    message = timeout_message(excinfo)
    assert 'closest item/completed: {"item": {"id": "m2", "type": "agentMessage"}, "threadId": "t1"}' in message
    assert "  but item.type is 'agentMessage', wanted 'commandExecution'" in message


def test_timeout_counts_notifications_already_taken(fake_server: FakeServer) -> None:
    client = fake_server(notify("turn/completed", turn={"id": "t1"}))
    client.wait_for("turn/completed")
    with pytest.raises(NotificationTimeout, match="turn/completed already taken by earlier waits or drains: 1"):
        client.wait_for("turn/completed", timeout=0.1)


def test_timeout_lists_pending_requests_and_unanswered_server_requests(fake_server: FakeServer) -> None:
    client = fake_server(
        request("item/commandExecution/requestApproval", 0, itemId="c1"),
        request("item/fileChange/requestApproval", "fc-1", itemId="f1"),
        expect("thread/start"),  # read and never answered
    )
    client.wait_for_server_request("item/fileChange/requestApproval")  # taken, never answered
    with pytest.raises(NotificationTimeout) as excinfo:
        client.request("thread/start", {}, timeout=0.3)
    message = timeout_message(excinfo)
    assert message.startswith("timed out after 0.3s waiting for response to thread/start (id 1)")
    assert "requests still pending: thread/start (id 1)" in message
    assert "item/commandExecution/requestApproval (id 0, buffered)" in message
    assert "item/fileChange/requestApproval (id 'fc-1', taken, not answered)" in message


def test_the_diagnosis_ends_with_the_server_stderr_tail(fake_server: FakeServer) -> None:
    client = fake_server(*(stderr(f"log line {n}") for n in range(60)), stdout("not json at all"), exit_with(1))
    # The exit makes the tail complete before the diagnosis is written; a timeout shows the same tail.
    with pytest.raises(ServerExited) as excinfo:
        client.wait_for("never", timeout=30)
    message = str(excinfo.value)
    assert "server stderr (last 40 lines):" in message
    assert message.endswith("  | log line 59")
    assert "  | log line 19\n" not in message
    assert "non-protocol stdout lines (last): 'not json at all'" in message


def test_chaos_seed_is_printed_in_the_timeout(fake_server: FakeServer) -> None:
    client = fake_server(chaos=Chaos(1234))
    with pytest.raises(NotificationTimeout, match=r"chaos seed 1234 \(rerun with --harness-chaos=1234\)"):
        client.wait_for("never", timeout=0.1)
