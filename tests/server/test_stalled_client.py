"""A client that stops reading: the outgoing queue stays within its byte budget, responses are kept, and
past the hard limit the connection ends with a logged reason.

The runner is driven in memory with a transport whose write never completes until the test lets it, the
way a pipe or socket write blocks once the client's buffer is full.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.rpc import Connection, ServerInfo
from server.runner import OUTGOING_HARD_LIMIT_BYTES, OUTGOING_SOFT_LIMIT_BYTES, ConnectionRunner
from server.session import ServerContext, Session
from tests.server.runner_support import INIT, Table

WATCHES = 4
DISTINCT_PATHS = 40
PATH_BYTES = 1000
NOTIFICATIONS = 10_000
"""Emitted while the client does not read: ~10 MB of fs/changed, well past the 4 MiB soft limit."""
RETAINED_LIMIT_BYTES = 4 * OUTGOING_SOFT_LIMIT_BYTES
"""Python memory allocated meanwhile and still held: the queued bytes plus their objects, not every merge."""
MAX_DELTAS = 2 * OUTGOING_HARD_LIMIT_BYTES // 4096


class StalledClient:
    """Reads nothing until `resume()`; then takes everything, recording it."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.reading = asyncio.Event()
        self.sent: list[dict[str, Any]] = []
        self.first_write = asyncio.Event()

    async def incoming(self) -> AsyncIterator[str]:
        while (line := await self.inbox.get()) is not None:
            yield line

    async def send(self, batch: list[bytes]) -> None:
        self.first_write.set()
        await self.reading.wait()
        self.sent.extend(json.loads(line) for line in batch)

    def resume(self) -> None:
        self.reading.set()


async def _start(client: StalledClient, handlers: dict[str, Any]) -> tuple[ConnectionRunner, asyncio.Task[None]]:
    connection = Connection(ServerInfo(Path("/h")), lambda: Table(handlers))
    runner = ConnectionRunner(ServerContext(Path("/h")), connection, client.send)
    task = asyncio.create_task(runner.run(client.incoming()))
    client.inbox.put_nowait(INIT)
    await client.first_write.wait()  # initialize's answer is in the write that now blocks
    return runner, task


def _changed(index: int) -> dict[str, Any]:
    path = f"/watched/{index % DISTINCT_PATHS:04}-" + "x" * PATH_BYTES
    return {"watchId": f"w{index % WATCHES}", "changedPaths": [path]}


def test_coalescible_notifications_keep_the_queue_within_its_budget_and_lose_no_path() -> None:
    async def scenario() -> None:
        async def ping(session: Session, params: Any) -> dict[str, str]:
            return {"pong": "yes"}

        client = StalledClient()
        runner, task = await _start(client, {"ping": ping})
        tracemalloc.start()
        most = 0
        for index in range(NOTIFICATIONS):
            runner.notify("fs/changed", _changed(index))
            most = max(most, runner.queued_bytes)
            if index == NOTIFICATIONS // 2:
                runner.handle(json.dumps({"id": 1, "method": "ping", "params": {}}))
                await asyncio.sleep(0)
        merged = WATCHES * DISTINCT_PATHS * (PATH_BYTES + 20)
        assert most <= OUTGOING_SOFT_LIMIT_BYTES + 2 * merged
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert held < RETAINED_LIMIT_BYTES, "what was merged away is still held"
        client.resume()
        client.inbox.put_nowait(None)
        await asyncio.wait_for(task, 30)
        assert [m["result"] for m in client.sent if m.get("id") == 1] == [{"pong": "yes"}]
        for watch in range(WATCHES):
            reported = {
                path
                for m in client.sent
                if m.get("method") == "fs/changed" and m["params"]["watchId"] == f"w{watch}"
                for path in m["params"]["changedPaths"]
            }
            expected = {_changed(index)["changedPaths"][0] for index in range(watch, NOTIFICATIONS, WATCHES)}
            assert reported == expected

    asyncio.run(scenario())


def test_past_the_hard_limit_the_connection_ends_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    """Deltas of an agent message may not be merged (each is part of the text): the queue grows until the
    hard limit, then the connection is closed rather than let memory grow with it."""

    async def scenario() -> int:
        client = StalledClient()
        runner, task = await _start(client, {})
        delta = {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "y" * 4096}
        emitted = 0
        while not task.done() and emitted < MAX_DELTAS:
            runner.notify("item/agentMessage/delta", delta)
            emitted += 1
            if emitted % 256 == 0:
                await asyncio.sleep(0)
        await asyncio.wait_for(task, 10)
        return emitted

    emitted = asyncio.run(scenario())
    assert emitted < MAX_DELTAS, "the connection outlived twice its hard limit"
    assert "closing the connection: the client is not reading and " in capsys.readouterr().err
