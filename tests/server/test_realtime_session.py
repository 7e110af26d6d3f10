"""The realtime session's single shutdown path, in process: every way to end gives one error at most,
exactly one closed, and leaves no task behind on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from fixtures.realtime_api import RealtimeApiStub
from server.realtime import wire
from server.realtime.session import RealtimeSession, SessionConfig

Scenario = Callable[[RealtimeSession, RealtimeApiStub], Awaitable[None]]


@pytest.fixture
def realtime() -> Iterator[RealtimeApiStub]:
    with RealtimeApiStub() as stub:
        yield stub


def config(stub: RealtimeApiStub, version: wire.Version = "v2") -> SessionConfig:
    return SessionConfig(wire.connect_url(f"ws://127.0.0.1:{stub.port}", version, "m"), "sk-x", version, "text", None)


async def settle(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 5 s")


async def run(stub: RealtimeApiStub, scenario: Scenario) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []

    async def no_handoff(prompt: str) -> str:
        return ""

    session = RealtimeSession("t1", config(stub), lambda method, params: events.append((method, params)), no_handoff)
    await session.start()
    await scenario(session, stub)
    await settle(lambda: not session.active)
    await asyncio.sleep(0.05)
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert leftovers == [], f"leaked tasks: {leftovers}"
    return events


def counts(events: list[tuple[str, dict[str, Any]]]) -> tuple[int, int]:
    methods = [method for method, _ in events]
    return methods.count("thread/realtime/error"), methods.count("thread/realtime/closed")


async def stop(session: RealtimeSession, stub: RealtimeApiStub) -> None:
    await session.stop()
    await session.stop()  # a second stop must not emit again


async def server_error(session: RealtimeSession, stub: RealtimeApiStub) -> None:
    stub.send({"type": "error", "error": {"message": "boom"}})


async def drop(session: RealtimeSession, stub: RealtimeApiStub) -> None:
    stub.drop()


async def clean_close(session: RealtimeSession, stub: RealtimeApiStub) -> None:
    stub.close_cleanly()


async def bad_input_after_drop(session: RealtimeSession, stub: RealtimeApiStub) -> None:
    stub.drop()
    await session.append_text("user", "into the void")
    await session.append_audio("AAAA")


@pytest.mark.parametrize(
    ("scenario", "errors", "reason"),
    [
        (stop, 0, "requested"),
        (server_error, 1, "error"),
        (drop, 1, "error"),
        (clean_close, 0, "transport_closed"),
        (bad_input_after_drop, 1, "error"),
    ],
)
def test_every_ending_emits_one_closed_and_leaks_nothing(
    realtime: RealtimeApiStub, scenario: Scenario, errors: int, reason: str
) -> None:
    events = asyncio.run(run(realtime, scenario))
    assert counts(events) == (errors, 1)
    closed = [params for method, params in events if method == "thread/realtime/closed"]
    assert closed[0]["reason"] == reason


def test_refused_start_emits_one_error_and_one_closed(realtime: RealtimeApiStub) -> None:
    realtime.refuse_status = 500
    events = asyncio.run(run(realtime, stop))
    assert counts(events) == (1, 1)
    assert "thread/realtime/started" not in [method for method, _ in events]


def test_start_refused_before_connecting_ends_the_same_way(realtime: RealtimeApiStub) -> None:
    async def scenario() -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []

        async def no_handoff(prompt: str) -> str:
            return ""

        session = RealtimeSession("t1", config(realtime), lambda m, p: events.append((m, p)), no_handoff)
        await session.fail_to_start("realtime conversation requires API key auth")
        await session.stop()
        return events

    events = asyncio.run(scenario())
    assert counts(events) == (1, 1)


@pytest.mark.parametrize("version", wire.VERSIONS)
def test_connect_urls_follow_upstream(version: wire.Version) -> None:
    url = wire.connect_url("ws://h:1/", version, "m")
    expected = {"v1": "/v1/realtime?intent=quicksilver&model=m", "v2": "/v1/realtime?model=m", "v3": "/v1/live?model=m"}
    assert url == f"ws://h:1{expected[version]}"


def test_handoff_prompt_is_taken_from_the_first_known_argument_key() -> None:
    event = {
        "type": "conversation.item.done",
        "item": {"type": "function_call", "name": "background_agent", "call_id": "c", "arguments": '{"text": "t"}'},
    }
    assert wire.parse("v2", event) == [wire.HandoffRequested("c", "c", "t")]
    assert wire.parse("v1", event) == []
