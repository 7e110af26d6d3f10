"""Drives one `rpc.Connection` with asyncio: concurrent handlers, one ordered outgoing queue.

Transports hand us an async iterator of incoming messages and a coroutine that writes a batch of outgoing
ones; everything between (dispatch, concurrency, backpressure, shutdown) is here, once.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable

from server.protocol.errors import InternalError, RpcError
from server.rpc import ClientReply, Connection, Dispatch, Ignored, Reply
from server.session import ServerContext, Session

SendBatch = Callable[[list[str]], Awaitable[None]]

OUTGOING_HIGH_WATER = 4096
"""Messages queued for a client that is not reading; past this we stop reading its input until it drains."""

SHUTDOWN_GRACE_SECONDS = 5.0
"""At end of input, how long requests already received may run before they are cancelled and answered."""


FLUSH_TIMEOUT_SECONDS = 5.0
"""At shutdown, how long we wait for a client to read what we still have to say."""

SHUTTING_DOWN = InternalError("request cancelled: the server is shutting down")


def _origin(exc: BaseException) -> str:
    """Where an unexpected exception was raised. Its message is not logged: it may quote a secret."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown location"


def log(message: str) -> None:
    print(f"app-server: {message}", file=sys.stderr, flush=True)


class ConnectionRunner:
    def __init__(self, server: ServerContext, connection: Connection, send: SendBatch) -> None:
        self.connection = connection
        self._send = send
        self._outgoing: asyncio.Queue[str] = asyncio.Queue()
        self._drained = asyncio.Event()
        self._drained.set()
        self._tasks: dict[asyncio.Task[None], int | str] = {}
        self.session = Session(server, connection, self._enqueue)

    def _enqueue(self, message: str) -> None:
        self._outgoing.put_nowait(message)
        if self._outgoing.qsize() >= OUTGOING_HIGH_WATER:
            self._drained.clear()

    async def _writer(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                await self._send(batch)
            except (ConnectionError, OSError) as exc:
                log(f"client went away while writing: {exc}")
                self._drained.set()
                return
            finally:
                for _ in batch:
                    self._outgoing.task_done()
            if self._outgoing.qsize() < OUTGOING_HIGH_WATER // 2:
                self._drained.set()

    async def _run_handler(self, job: Dispatch) -> None:
        try:
            result = await job.spec.handler(self.session, job.params)
            wire = result.to_wire() if hasattr(result, "to_wire") else result
            self._enqueue(self.connection.finish(job.request_id, wire))
        except asyncio.CancelledError:
            self._enqueue(self.connection.finish(job.request_id, error=SHUTTING_DOWN))
            raise
        except Exception as exc:
            if not isinstance(exc, RpcError):
                log(f"{job.spec.name} failed: {type(exc).__name__} at {_origin(exc)}")
            self._enqueue(self.connection.finish(job.request_id, error=exc))

    def _connected(self) -> None:
        """Run the connect hooks (config warnings...) once initialize has been answered."""
        from server.handlers.connect import connect_hooks

        try:
            hooks = connect_hooks()
        except Exception as exc:
            log(f"loading connect hooks failed: {type(exc).__name__}: {exc}")
            return
        for hook in hooks:
            try:
                hook(self.session)
            except Exception as exc:
                log(f"connect hook {hook.__module__}.{hook.__name__} failed: {type(exc).__name__}: {exc}")

    def handle(self, message: str | bytes) -> None:
        """Act on one incoming message."""
        was_initialized = self.connection.initialized
        event = self.connection.receive(message)
        if isinstance(event, Reply):
            self._enqueue(event.data)
        elif isinstance(event, Dispatch):
            task = asyncio.create_task(self._run_handler(event))
            self._tasks[task] = event.request_id
            task.add_done_callback(self._tasks.pop)
        elif isinstance(event, ClientReply):
            self.session.resolve(event.request_id, event.result, event.error)
        elif isinstance(event, Ignored) and event.log:
            log(event.log)
        if not was_initialized and self.connection.initialized:
            self._connected()

    async def run(self, incoming: AsyncIterator[str | bytes]) -> None:
        """Serve until the input ends, then finish received work, release resources and flush."""
        writer = asyncio.create_task(self._writer())
        if self.connection.initialized:
            self._connected()
        try:
            async for message in incoming:
                self.handle(message)
                if not self._drained.is_set():
                    await self._drained.wait()
            await self._finish_in_flight()
        finally:
            await self.session.close()
            if not writer.done():
                await self._flush()
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _finish_in_flight(self) -> None:
        if not self._tasks:
            return
        pending = list(self._tasks)
        _, still_running = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in still_running:
            task.cancel()
        await asyncio.gather(*still_running, return_exceptions=True)

    async def _flush(self) -> None:
        """Wait until everything queued is written (bounded: the client may have stopped reading)."""
        try:
            await asyncio.wait_for(self._outgoing.join(), FLUSH_TIMEOUT_SECONDS)
        except TimeoutError:
            log(f"dropping {self._outgoing.qsize()} unsent messages: the client is not reading")
