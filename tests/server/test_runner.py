"""The asyncio runner: concurrency, server->client requests, shutdown. Driven with an in-memory table."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.rpc import Connection, ServerInfo
from server.runner import ConnectionRunner
from server.session import ClientRequestError, ServerContext, Session, Unanswered
from tests.server.runner_support import INIT, Table


class Pipe:
    """An in-memory client: feed lines in, collect what the runner sends."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def incoming(self) -> AsyncIterator[str]:
        while (line := await self.inbox.get()) is not None:
            yield line

    async def send(self, batch: list[str]) -> None:
        self.sent.extend(json.loads(line) for line in batch)
        self.arrived.set()

    async def response(self, request_id: Any) -> dict[str, Any]:
        for _ in range(500):
            for message in self.sent:
                if message.get("id") == request_id and "method" not in message:
                    return message
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)
        raise AssertionError(f"no response to {request_id}")


def start(handlers: dict[str, Any]) -> tuple[Pipe, ConnectionRunner, asyncio.Task[None]]:
    pipe = Pipe()
    connection = Connection(ServerInfo(Path("/h")), lambda: Table(handlers))
    runner = ConnectionRunner(ServerContext(Path("/h")), connection, pipe.send)
    task = asyncio.create_task(runner.run(pipe.incoming()))
    pipe.inbox.put_nowait(INIT)
    return pipe, runner, task


def call(request_id: Any, method: str, params: Any = None) -> str:
    return json.dumps({"id": request_id, "method": method, "params": params or {}})


def test_a_slow_handler_does_not_block_a_fast_one() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def slow(session: Session, params: Any) -> dict[str, str]:
            await release.wait()
            return {"who": "slow"}

        async def fast(session: Session, params: Any) -> dict[str, str]:
            return {"who": "fast"}

        pipe, _, task = start({"t/slow": slow, "t/fast": fast})
        pipe.inbox.put_nowait(call(1, "t/slow"))
        pipe.inbox.put_nowait(call(2, "t/fast"))
        assert (await pipe.response(2))["result"] == {"who": "fast"}
        assert all(message.get("id") != 1 for message in pipe.sent)
        release.set()
        assert (await pipe.response(1))["result"] == {"who": "slow"}
        pipe.inbox.put_nowait(None)
        await task

    asyncio.run(scenario())


def test_server_to_client_request_round_trip_and_error() -> None:
    async def scenario() -> None:
        async def ask(session: Session, params: Any) -> Any:
            try:
                return {"answer": await session.request("item/tool/call", {"q": params["q"]}, timeout=5)}
            except ClientRequestError as exc:
                return {"refused": exc.message}

        pipe, _, task = start({"t/ask": ask})
        for request_id, q in ((1, "yes"), (2, "no")):
            pipe.inbox.put_nowait(call(request_id, "t/ask", {"q": q}))
        for _ in range(100):
            server_requests = [m for m in pipe.sent if m.get("method") == "item/tool/call"]
            if len(server_requests) == 2:
                break
            pipe.arrived.clear()
            await asyncio.wait_for(pipe.arrived.wait(), 5)
        for message in server_requests:
            if message["params"]["q"] == "yes":
                pipe.inbox.put_nowait(json.dumps({"id": message["id"], "result": {"ok": True}}))
            else:
                pipe.inbox.put_nowait(json.dumps({"id": message["id"], "error": {"code": 1, "message": "nope"}}))
        assert (await pipe.response(1))["result"] == {"answer": {"ok": True}}
        assert (await pipe.response(2))["result"] == {"refused": "nope"}
        pipe.inbox.put_nowait(None)
        await task

    asyncio.run(scenario())


def test_end_of_input_cancels_stuck_work_answers_it_and_closes_scoped_resources() -> None:
    async def scenario() -> None:
        closed: list[str] = []

        class Resource:
            def __init__(self, session: Session) -> None:
                self.session = session

            async def aclose(self) -> None:
                closed.append("resource")

        async def stuck(session: Session, params: Any) -> None:
            session.scoped(Resource, Resource)
            await asyncio.Event().wait()

        import server.runner as runner_module

        grace = runner_module.SHUTDOWN_GRACE_SECONDS
        runner_module.SHUTDOWN_GRACE_SECONDS = 0.05
        try:
            pipe, _, task = start({"t/stuck": stuck})
            pipe.inbox.put_nowait(call(7, "t/stuck"))
            pipe.inbox.put_nowait(None)
            await asyncio.wait_for(task, 10)
        finally:
            runner_module.SHUTDOWN_GRACE_SECONDS = grace
        assert (await pipe.response(7))["error"]["code"] == -32603
        assert closed == ["resource"]
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(scenario())


def test_end_of_input_is_told_to_scoped_state_first_and_an_unanswered_request_gets_nothing() -> None:
    """A scoped `input_ended()` runs before the grace period (so it need not wait for it), and a handler it
    stops by raising `Unanswered` gets no response, nor the notifications it held for one."""

    async def scenario() -> None:
        events: list[str] = []

        class Work:
            def __init__(self, session: Session) -> None:
                self.stopped = asyncio.Event()

            async def input_ended(self) -> None:
                events.append("input ended")
                self.stopped.set()

            async def aclose(self) -> None:
                events.append("closed")

        async def abandoned(session: Session, params: Any) -> None:
            work = session.scoped(Work, Work)
            session.notify("t/held", {})
            await work.stopped.wait()
            raise Unanswered

        pipe, _, task = start({"t/abandoned": abandoned})
        pipe.inbox.put_nowait(call(7, "t/abandoned"))
        for _ in range(100):  # bounded: let the handler start and create its scoped state
            await asyncio.sleep(0)
        pipe.inbox.put_nowait(None)
        await asyncio.wait_for(task, 10)
        assert events == ["input ended", "closed"]
        assert [message for message in pipe.sent if message.get("id") == 7 or message.get("method") == "t/held"] == []

    asyncio.run(scenario())


def test_handler_exceptions_become_internal_errors_without_details(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        async def broken(session: Session, params: Any) -> None:
            raise RuntimeError("token=sk-secret")

        pipe, _, task = start({"t/broken": broken})
        pipe.inbox.put_nowait(call(3, "t/broken"))
        error = (await pipe.response(3))["error"]
        assert error["code"] == -32603
        assert "sk-secret" not in error["message"]
        pipe.inbox.put_nowait(None)
        await task

    asyncio.run(scenario())
    logged = capsys.readouterr().err
    assert "t/broken failed: RuntimeError at " in logged
    assert "sk-secret" not in logged


def test_a_response_is_written_alone_whatever_is_queued_around_it() -> None:
    """Notifications that no pending request holds (a turn's later events, another request's answers) may
    be queued next to a response; they still go in writes of their own, before and after it."""

    async def scenario() -> list[list[Any]]:
        batches: list[list[Any]] = []
        writing = asyncio.Event()
        busy = asyncio.Event()
        queued = asyncio.Event()

        async def send(batch: list[str]) -> None:
            batches.append([json.loads(line).get("id", json.loads(line).get("method")) for line in batch])
            if len(batches) == 1:  # initialize's response: the writer stays busy, what comes next queues up
                busy.set()
                await writing.wait()

        async def chatty(session: Session, params: Any) -> dict[str, str]:
            def after() -> None:
                session.notify("x/after", {})
                queued.set()

            contextvars.Context().run(session.notify, "x/before", {})  # caused by no pending request
            asyncio.get_running_loop().call_soon(after, context=contextvars.Context())
            return {}

        connection = Connection(ServerInfo(Path("/h")), lambda: Table({"t/chatty": chatty}))
        runner = ConnectionRunner(ServerContext(Path("/h")), connection, send)
        inbox: asyncio.Queue[str | None] = asyncio.Queue()

        async def incoming() -> AsyncIterator[str]:
            while (line := await inbox.get()) is not None:
                yield line

        task = asyncio.create_task(runner.run(incoming()))
        inbox.put_nowait(INIT)
        await asyncio.wait_for(busy.wait(), 5)
        inbox.put_nowait(call(1, "t/chatty"))
        await asyncio.wait_for(queued.wait(), 5)  # x/before, the response, x/after: all behind the writer
        writing.set()
        inbox.put_nowait(None)
        await task
        return batches

    assert asyncio.run(scenario())[1:] == [["x/before"], [1], ["x/after"]]
