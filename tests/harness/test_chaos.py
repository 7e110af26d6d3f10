"""Chaos mode: seeded, bounded, reorders delivery, loses nothing."""

from __future__ import annotations

import pytest

from codex_app_harness import Chaos
from tests.harness.conftest import FakeServer
from tests.harness.steps import expect, notify, reply

BURST = 30


def test_the_same_seed_and_stream_give_the_same_delays() -> None:
    first, again = Chaos(7, stream="test_x#0"), Chaos(7, stream="test_x#0")
    assert [first.delay() for _ in range(20)] == [again.delay() for _ in range(20)]
    other = Chaos(7, stream="test_y#0")
    assert [Chaos(7, stream="test_x#0").delay() for _ in range(3)] != [other.delay() for _ in range(3)]


def test_delays_stay_within_the_bound() -> None:
    chaos = Chaos(1, max_delay=0.01)
    assert all(0 <= chaos.delay() <= 0.01 for _ in range(1000))


def test_an_unbounded_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1 second"):
        Chaos(1, max_delay=5)


def test_chaos_reorders_a_burst_and_loses_nothing(fake_server: FakeServer) -> None:
    client = fake_server(*(notify("tick", n=n) for n in range(BURST)), chaos=Chaos(42))
    for n in range(BURST):
        client.wait_for("tick", n=n, timeout=5)
    assert client.buffered() == []


def test_chaos_delivers_a_burst_out_of_order(fake_server: FakeServer) -> None:
    client = fake_server(*(notify("tick", n=n) for n in range(BURST)), chaos=Chaos(42))
    notes = [client.wait_for_notification("tick", n=n, timeout=5) for n in range(BURST)]
    delivered = [note.params["n"] for note in sorted(notes, key=lambda note: note.seq)]
    assert delivered != list(range(BURST))  # 30 independent 0-50 ms delays: in order is a 1 in 30! event


def test_chaos_can_deliver_a_notification_after_the_response_sent_after_it(fake_server: FakeServer) -> None:
    client = fake_server(expect("test/go"), notify("early", n=1), reply("test/go"), chaos=Chaos(3, max_delay=0.2))
    client.request("test/go")
    assert client.wait_for("early", timeout=5) == {"n": 1}


def test_settle_then_wire_order_recovers_what_the_server_sent_and_in_which_order(fake_server: FakeServer) -> None:
    words = ["streamed ", "answer ", "text ", "in ", "order"]
    client = fake_server(
        *(notify("item/agentMessage/delta", itemId="m1", delta=word) for word in words),
        notify("item/completed", item={"id": "m1", "text": "".join(words)}),
        chaos=Chaos(11, max_delay=0.2),
    )
    done = client.wait_for("item/completed", **{"item.id": "m1"})
    client.settle()  # every delta was read before item/completed, so every delta is buffered now
    deltas = sorted(client.drain("item/agentMessage/delta"), key=lambda note: note.received)
    assert "".join(note.params["delta"] for note in deltas) == done["item"]["text"]
