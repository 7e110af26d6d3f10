"""The core promise: waits find their notification whatever the order and timing of arrival."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from codex_app_harness import AsyncClient, Client
from tests.harness.conftest import FakeScript, FakeServer
from tests.harness.steps import expect, notify, reply


def test_notifications_are_found_in_any_order(fake_server: FakeServer) -> None:
    client = fake_server(notify("step", n=3), notify("step", n=1), notify("step", n=2))
    assert [client.wait_for("step", n=n)["n"] for n in (1, 2, 3)] == [1, 2, 3]


def test_a_notification_sent_before_the_wait_is_buffered_for_it(fake_server: FakeServer) -> None:
    client = fake_server(expect("test/go"), notify("early", value=1), reply("test/go"))
    client.request("test/go")  # the notification was written before this response
    assert client.wait_for("early") == {"value": 1}


def test_a_wait_removes_only_its_match(fake_server: FakeServer) -> None:
    client = fake_server(
        expect("test/go"), notify("a", n=1), notify("b", n=1), notify("a", n=2), notify("a", n=3), reply("test/go")
    )
    client.request("test/go")
    client.wait_for("a", n=3)  # all earlier notifications reached the buffer before this one
    assert client.wait_for("a", n=2) == {"n": 2}
    assert [(note.method, note.params) for note in client.buffered()] == [("a", {"n": 1}), ("b", {"n": 1})]


def test_waits_match_nested_fields_by_dotted_path(fake_server: FakeServer) -> None:
    client = fake_server(
        notify("item/completed", item={"type": "agentMessage", "id": "m1"}),
        notify("item/completed", item={"type": "commandExecution", "id": "c1"}),
    )
    assert client.wait_for("item/completed", **{"item.type": "commandExecution"})["item"]["id"] == "c1"
    assert client.wait_for("item/completed")["item"]["id"] == "m1"


def test_waiting_for_the_final_payload_leaves_interim_ones_buffered(fake_server: FakeServer) -> None:
    client = fake_server(*(notify("progress", done=n, total=5) for n in range(6)))

    def finished(params: dict[str, Any]) -> bool:
        return bool(params["done"] == params["total"])

    assert client.wait_for("progress", where=finished) == {"done": 5, "total": 5}
    assert [note.params["done"] for note in client.buffered("progress")] == [0, 1, 2, 3, 4]


def test_drain_takes_one_method_and_keeps_the_rest(fake_server: FakeServer) -> None:
    client = fake_server(expect("test/go"), notify("a", n=1), notify("b", n=1), notify("a", n=2), reply("test/go"))
    client.request("test/go")
    client.wait_for("a", n=2)
    assert [note.params for note in client.drain("a")] == [{"n": 1}]
    assert [note.method for note in client.drain()] == ["b"]
    assert client.buffered() == []


def test_assert_no_passes_on_silence_and_fails_on_a_buffered_match(fake_server: FakeServer) -> None:
    client = fake_server(expect("test/go"), notify("fs/changed", watchId="w1"), reply("test/go"))
    client.request("test/go")
    client.assert_no("fs/changed", watchId="w2", within=0.1)
    with pytest.raises(AssertionError, match=r"unexpected fs/changed\(watchId='w1'\)"):
        client.assert_no("fs/changed", watchId="w1", within=0.1)


def test_interleaved_notifications_for_two_concurrent_logins_reach_their_waits(fake_script: FakeScript) -> None:
    """Two waits are pending at once; each login's notifications arrive interleaved with the other's."""
    steps = (
        expect("test/go"),
        reply("test/go"),
        notify("account/login/progress", loginId="B", stage="opened"),
        notify("account/login/progress", loginId="A", stage="opened"),
        notify("account/login/completed", loginId="B", success=False, error="denied"),
        notify("account/login/progress", loginId="A", stage="exchanged"),
        notify("account/login/completed", loginId="A", success=True),
    )

    async def scenario(command: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        async with await AsyncClient.spawn(command) as client:
            login_a = asyncio.create_task(client.wait_for("account/login/completed", loginId="A"))
            login_b = asyncio.create_task(client.wait_for("account/login/completed", loginId="B"))
            await asyncio.sleep(0)  # both waits are registered before anything is sent
            await client.request("test/go")
            done_a, done_b = await asyncio.gather(login_a, login_b)
            assert [n.params["loginId"] for n in client.buffered("account/login/progress")] == ["B", "A", "A"]
            return done_a, done_b

    done_a, done_b = asyncio.run(scenario(fake_script(*steps)))
    assert done_a == {"loginId": "A", "success": True}
    assert done_b == {"loginId": "B", "success": False, "error": "denied"}


def test_concurrent_blocking_waits_from_threads_each_get_their_login(fake_server: FakeServer) -> None:
    client: Client = fake_server(
        expect("test/go"),
        reply("test/go"),
        notify("account/login/completed", loginId="B", success=True),
        notify("account/login/completed", loginId="A", success=True),
    )
    results: dict[str, dict[str, Any]] = {}

    def wait(login_id: str) -> None:
        results[login_id] = client.wait_for("account/login/completed", loginId=login_id, timeout=30)

    threads = [threading.Thread(target=wait, args=(login_id,)) for login_id in ("A", "B")]
    for thread in threads:
        thread.start()
    client.request("test/go")
    for thread in threads:
        thread.join(60)
    assert {key: value["loginId"] for key, value in results.items()} == {"A": "A", "B": "B"}
