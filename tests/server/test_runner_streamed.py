"""The one exemption from "a request's notifications follow its response": command/exec's output deltas.

Driven with an in-memory table and a recording transport, so the order is that of the writes themselves.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from server.rpc import Connection, ServerInfo
from server.runner import ConnectionRunner
from server.session import ServerContext, Session
from tests.server.runner_support import INIT, Table


class Recorder:
    """A client that records each write (a batch of messages) as the runner makes it."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.writes: list[list[dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    async def incoming(self) -> AsyncIterator[str]:
        while (line := await self.inbox.get()) is not None:
            yield line

    async def send(self, batch: list[bytes]) -> None:
        self.writes.append([json.loads(line) for line in batch])
        self.arrived.set()

    def kinds(self) -> list[str]:
        """Each message written after initialize, as its method or `response:<id>`."""
        flat = [message for write in self.writes for message in write]
        return [message.get("method") or f"response:{message['id']}" for message in flat if message.get("id") != 0]

    async def until(self, kind: str) -> None:
        for _ in range(100):
            if kind in self.kinds():
                return
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)
        raise AssertionError(f"{kind} was never written")


def test_output_deltas_are_written_before_the_pending_response_and_other_notifications_still_wait() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def long_running(session: Session, params: Any) -> dict[str, Any]:
            session.notify("command/exec/outputDelta", {"processId": "p", "deltaBase64": "YQo="})
            session.notify("thread/started", {"thread": {"id": "t"}})
            await release.wait()
            return {"exitCode": 0}

        recorder = Recorder()
        connection = Connection(ServerInfo(Path("/h")), lambda: Table({"command/exec": long_running}))
        runner = ConnectionRunner(ServerContext(Path("/h")), connection, recorder.send)
        task = asyncio.create_task(runner.run(recorder.incoming()))
        recorder.inbox.put_nowait(INIT)
        recorder.inbox.put_nowait(json.dumps({"id": 1, "method": "command/exec", "params": {}}))

        await recorder.until("command/exec/outputDelta")
        assert recorder.kinds() == ["command/exec/outputDelta"]  # streamed while the request is pending
        release.set()
        await recorder.until("thread/started")
        assert recorder.kinds() == ["command/exec/outputDelta", "response:1", "thread/started"]
        response_write = next(write for write in recorder.writes if any(m.get("id") == 1 for m in write))
        assert [m.get("method") for m in response_write if m.get("id") != 1] == []  # held one: a later write
        recorder.inbox.put_nowait(None)
        await task

    asyncio.run(scenario())
