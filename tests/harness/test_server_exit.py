"""A server that dies ends every wait at once, with its exit status, instead of running out the timeout."""

from __future__ import annotations

import threading

import pytest

from codex_app_harness import ServerExited
from tests.harness.conftest import FakeServer
from tests.harness.steps import exit_with, expect, notify, reply, sleep, stderr

LONG_WAIT = 30.0
"""Far beyond any plausible exit detection; the waits below must end long before it."""


def test_a_server_dying_mid_wait_ends_the_wait_with_its_exit_code(fake_server: FakeServer) -> None:
    client = fake_server(expect("test/go"), reply("test/go"), sleep(0.2), stderr("fatal: out of cheese"), exit_with(3))
    client.request("test/go")
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            client.wait_for("turn/completed", timeout=LONG_WAIT)
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    waiter.join(LONG_WAIT / 3)
    assert not waiter.is_alive(), "the wait outlived the server"
    [error] = outcome
    assert isinstance(error, ServerExited)
    message = str(error)
    assert "fake_server.py script-0.jsonl exited with code 3 while waiting for turn/completed()\n" in message
    assert "  | fatal: out of cheese" in message


def test_a_request_to_a_dying_server_fails_with_its_exit_code(fake_server: FakeServer) -> None:
    client = fake_server(expect("test/crash"), stderr("panicked at the disco"), exit_with(101))
    with pytest.raises(ServerExited) as excinfo:
        client.request("test/crash", timeout=LONG_WAIT)
    assert "exited with code 101 while waiting for response to test/crash (id 1)" in str(excinfo.value)
    assert "panicked at the disco" in str(excinfo.value)


def test_notifications_sent_before_the_exit_can_still_be_taken(fake_server: FakeServer) -> None:
    client = fake_server(notify("last/words", text="bye"), exit_with(0))
    assert client.wait_exit() == 0
    assert client.wait_for("last/words") == {"text": "bye"}
    with pytest.raises(ServerExited, match="exited with code 0"):
        client.wait_for("last/words", timeout=LONG_WAIT)


def test_sending_to_an_exited_server_names_its_exit(fake_server: FakeServer) -> None:
    client = fake_server(exit_with(7))
    assert client.wait_exit() == 7
    with pytest.raises(ServerExited, match="exited with code 7"):
        client.request("anything", timeout=LONG_WAIT)
