"""Drives one `rpc.Connection` with asyncio: concurrent handlers, one ordered outgoing queue.

Transports hand us an async iterator of incoming messages and a coroutine that writes a batch of outgoing
ones; everything between (dispatch, concurrency, message order, backpressure, memory bounds, shutdown) is
here, once.

Message order. A request's response is written before any notification the request causes, and never in
the same write (upstream's order, measured on the 0.163 binary: `thread/start` answers, then
`thread/started`; `turn/start` answers, then `turn/started` in a later write). The mechanism: each handler
runs with its `RequestScope` in a context variable, which every task it spawns inherits (PEP 567), so a
notification "caused by" the request is whatever is emitted in that context. Those are held until the
writer has written the response, then queued behind it, in the order they were emitted. Once the response
is out, the scope lets notifications straight through (a turn's later events). Server->client requests are
never held: a handler may wait for their answer before it can respond. One named exemption,
STREAMED_BEFORE_RESPONSE, lists the notifications that upstream writes while their request is still pending.
The writer batches messages into one write, except a response, which always goes in a write of its own,
whatever else was queued around it.

Memory toward a client that does not read. Everything queued is counted in bytes. Past
OUTGOING_SOFT_LIMIT_BYTES we stop reading the client's input (its own requests cannot grow the queue) and
coalesce what the protocol allows to coalesce (COALESCE: `fs/changed` per watch, search session updates per
session); past OUTGOING_HARD_LIMIT_BYTES the connection is closed with a logged reason. Responses are never
coalesced or dropped while the connection lives. The writer takes bounded batches, never the whole backlog.

End of input. Scoped state is told first (`Session.input_ended`), so what upstream stops at once when its
client goes away stops at once here; requests still running then get SHUTDOWN_GRACE_SECONDS, and those
still running after it are cancelled and answered SHUTTING_DOWN. A handler that raises `Unanswered` gets
no response at all.

Supervision. The reader, the writer and the overflow guard are watched together: when the writer dies (the
client went away, or a bug) or the queue overflows, the connection ends with one stderr line instead of a
server that reads forever and answers nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import traceback
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from server.protocol.errors import InternalError, RpcError
from server.rpc import ClientReply, Connection, Dispatch, Ignored, JsonValue, Reply
from server.session import ServerContext, Session, Unanswered

SendBatch = Callable[[list[bytes]], Awaitable[None]]
"""Writes encoded messages (no framing) in order; one call is one write on the wire where framing allows."""

OUTGOING_SOFT_LIMIT_BYTES = 4 * 1024 * 1024
"""Queued bytes past which input is paused and coalescible notifications are merged."""

OUTGOING_HARD_LIMIT_BYTES = 32 * 1024 * 1024
"""Queued bytes past which a client that does not read is disconnected rather than let memory grow."""

BATCH_MAX_BYTES = 256 * 1024
BATCH_MAX_MESSAGES = 256
"""One write takes at most this much, so draining a backlog never copies the whole of it at once."""

DISPATCH_YIELD_EVERY = 64
"""Requests dispatched from one read before the reader lets their handlers start."""

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


# ----------------------------------------------------------------------------------------------- coalescing


def _merge_changed_paths(older: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    paths = dict.fromkeys([*older.get("changedPaths", []), *newer.get("changedPaths", [])])
    return {**newer, "changedPaths": list(paths)}


def _latest(older: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    return newer


@dataclass(frozen=True, slots=True)
class Coalescing:
    """How queued notifications of one method fold into one: per `key_field`, with `merge`."""

    key_field: str
    merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


COALESCE: dict[str, Coalescing] = {
    # The set of paths that changed under a watch; a client rescans them, so a union loses nothing.
    "fs/changed": Coalescing("watchId", _merge_changed_paths),
    # Each update carries the session's whole current result list for its query: the latest supersedes.
    "fuzzyFileSearch/sessionUpdated": Coalescing("sessionId", _latest),
}


# ----------------------------------------------------------------------------------------------- queue items


@dataclass(eq=False, slots=True)
class Outgoing:
    data: bytes
    answers: RequestScope | None = None
    """Set on a response: once written, the notifications its request caused may follow."""
    key: tuple[str, Any] | None = None
    params: Any = None
    """Kept for coalescible notifications only (method and key field, params), to merge them while they wait."""
    dropped: bool = False


@dataclass(eq=False)
class RequestScope:
    """One request being handled, as seen by the notifications it causes (see the module docstring)."""

    owner: ConnectionRunner
    held: list[tuple[str, JsonValue]] | None = field(default_factory=list)
    """Notifications waiting for the response; None once the response is written."""


STREAMED_BEFORE_RESPONSE = frozenset({"command/exec/outputDelta"})
"""Notifications never held for their request's response, because upstream sends them before it.

`command/exec` answers only when its process exits, and upstream's schema says that response "is sent only
after all `command/exec/outputDelta` notifications for that connection have been emitted": holding the
output until then would turn a stream into a buffer (and a long-running or interactive command, which a
client answers through `command/exec/write`, would show nothing at all). Queued as emitted, these
notifications precede the response that follows them in the same ordered queue.
"""

_current_request: contextvars.ContextVar[RequestScope | None] = contextvars.ContextVar("request", default=None)


class OutgoingOverflow(Exception):
    """The client stopped reading and its queue passed the hard limit."""


class ConnectionRunner:
    def __init__(self, server: ServerContext, connection: Connection, send: SendBatch) -> None:
        self.connection = connection
        self._send = send
        self._queue: deque[Outgoing] = deque()
        self._queued_bytes = 0
        self._tombstones = 0
        self._coalescible: dict[tuple[str, Any], Outgoing] = {}
        self._ready = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self._overflow = asyncio.Event()
        self._closing = False
        self._tasks: dict[asyncio.Task[None], int | str] = {}
        self._unstarted = 0
        self.session = Session(server, connection, self)

    # -- the outbox Session writes to

    def send(self, data: bytes) -> None:
        """Queue one encoded message that waits for nothing (server->client requests, direct replies)."""
        self._push(Outgoing(data))

    def notify(self, method: str, params: JsonValue) -> None:
        """Queue a notification, held back while the request that caused it is not answered yet."""
        scope = _current_request.get()
        if (
            scope is not None
            and scope.owner is self
            and scope.held is not None
            and method not in STREAMED_BEFORE_RESPONSE
        ):
            scope.held.append((method, params))
            return
        self._queue_notification(method, params)

    def _queue_notification(self, method: str, params: JsonValue) -> None:
        try:
            data = self.connection.notification(method, params)
        except (ValueError, TypeError, RecursionError) as exc:
            log(f"dropping a {method} notification that cannot be encoded: {type(exc).__name__}: {exc}")
            return
        if data is None:
            return
        rule = COALESCE.get(method)
        if rule is None or not isinstance(params, dict):
            self._push(Outgoing(data))
            return
        key = (method, params.get(rule.key_field))
        waiting = self._coalescible.get(key)
        if waiting is not None and not waiting.dropped and self._queued_bytes >= OUTGOING_SOFT_LIMIT_BYTES:
            merged = rule.merge(waiting.params, params)
            merged_data = self.connection.notification(method, merged)
            if merged_data is not None:
                self._drop(waiting)
                data, params = merged_data, merged
        item = Outgoing(data, key=key, params=params)
        self._coalescible[key] = item
        self._push(item)

    def _drop(self, item: Outgoing) -> None:
        """Forget a notification merged into a newer one. Its place in the queue is left as a tombstone
        holding nothing (the payload is what grows), and the queue is compacted once tombstones are most
        of it, so a client that never reads costs memory for what is live, not for every merge."""
        item.dropped = True
        self._queued_bytes -= len(item.data)
        item.data, item.params = b"", None
        self._tombstones += 1
        if self._tombstones > len(self._queue) // 2:
            self._queue = deque(entry for entry in self._queue if not entry.dropped)
            self._tombstones = 0

    def _push(self, item: Outgoing) -> None:
        if self._closing:
            return
        self._queue.append(item)
        self._queued_bytes += len(item.data)
        self._ready.set()
        self._empty.clear()
        if self._queued_bytes >= OUTGOING_SOFT_LIMIT_BYTES:
            self._drained.clear()
        if self._queued_bytes >= OUTGOING_HARD_LIMIT_BYTES:
            self._overflow.set()

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    # -- writing

    def _next_batch(self) -> list[Outgoing]:
        """The next messages to write at once; a response goes alone, in a write of its own, whatever was
        queued around it (notifications of other requests included), as upstream writes it."""
        batch: list[Outgoing] = []
        size = 0
        while self._queue and len(batch) < BATCH_MAX_MESSAGES and (not batch or size < BATCH_MAX_BYTES):
            item = self._queue[0]
            if item.dropped:
                self._queue.popleft()
                self._tombstones -= 1
                continue
            if item.answers is not None and batch:
                break
            self._queue.popleft()
            if item.key is not None and self._coalescible.get(item.key) is item:
                del self._coalescible[item.key]
            batch.append(item)
            size += len(item.data)
            if item.answers is not None:
                break
        return batch

    async def _writer(self) -> None:
        while True:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            batch = self._next_batch()
            if not batch:
                continue
            try:
                await self._send([item.data for item in batch])
            finally:
                for item in batch:
                    self._queued_bytes -= len(item.data)
            for item in batch:
                if item.answers is not None:
                    self._release(item.answers)
            if self._queued_bytes < OUTGOING_SOFT_LIMIT_BYTES // 2:
                self._drained.set()
            if not self._queue:
                self._empty.set()

    def _release(self, scope: RequestScope) -> None:
        held, scope.held = scope.held, None
        for method, params in held or ():
            self._queue_notification(method, params)

    async def _flush(self) -> None:
        """Wait until everything queued is written (bounded: the client may have stopped reading)."""
        try:
            await asyncio.wait_for(self._empty.wait(), FLUSH_TIMEOUT_SECONDS)
        except TimeoutError:
            log(f"dropping {len(self._queue)} unsent messages: the client is not reading")

    # -- handling

    async def _run_handler(self, job: Dispatch, scope: RequestScope) -> None:
        self._unstarted -= 1
        self.connection.started()
        _current_request.set(scope)  # this task's own context: inherited by every task the handler spawns
        try:
            result = await job.spec.handler(self.session, job.params)
            wire = result.to_wire() if hasattr(result, "to_wire") else result
            self._respond(scope, self.connection.finish(job.request_id, wire))
        except asyncio.CancelledError:
            self._respond(scope, self.connection.finish(job.request_id, error=SHUTTING_DOWN))
            raise
        except Unanswered:
            self.connection.finish(job.request_id)  # ends its in-flight count; the encoded answer is dropped
            scope.held = None  # so are the notifications it held: they would follow a response never written
        except Exception as exc:
            if not isinstance(exc, (RpcError, OSError)):  # an OSError is the OS refusing the request
                log(f"{job.spec.name} failed: {type(exc).__name__} at {_origin(exc)}")
            self._respond(scope, self.connection.finish(job.request_id, error=exc))

    def _respond(self, scope: RequestScope, data: bytes) -> None:
        if self._closing:
            scope.held = None
            return
        self._push(Outgoing(data, answers=scope))

    def _connected(self, scope: RequestScope | None = None) -> None:
        """Run the connect hooks (config warnings...) once initialize has been answered."""
        from server.handlers.connect import connect_hooks

        try:
            hooks = connect_hooks()
        except Exception as exc:
            log(f"loading connect hooks failed: {type(exc).__name__}: {exc}")
            return
        if scope is not None:
            _current_request.set(scope)
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
            if not was_initialized and self.connection.initialized:
                # initialize's response, then what connecting causes (configWarning...), in later writes.
                scope = RequestScope(self)
                self._push(Outgoing(event.data, answers=scope))
                contextvars.copy_context().run(self._connected, scope)
                return
            self.send(event.data)
        elif isinstance(event, Dispatch):
            scope = RequestScope(self)
            task = asyncio.create_task(self._run_handler(event, scope))
            self._unstarted += 1
            self._tasks[task] = event.request_id
            task.add_done_callback(self._tasks.pop)
        elif isinstance(event, ClientReply):
            self.session.resolve(event.request_id, event.result, event.error)
        elif isinstance(event, Ignored) and event.log:
            log(event.log)

    async def _read(self, incoming: AsyncIterator[str | bytes]) -> None:
        async for message in incoming:
            self.handle(message)
            if self._unstarted >= DISPATCH_YIELD_EVERY:
                await asyncio.sleep(0)  # let the handlers start: in-flight counts requests being handled
            if not self._drained.is_set():
                await self._drained.wait()

    async def run(self, incoming: AsyncIterator[str | bytes]) -> None:
        """Serve until the input ends, then finish received work, release resources and flush.

        Ends early, with a line on stderr, when the writer stops or the client's queue overflows."""
        writer = asyncio.create_task(self._writer())
        reader = asyncio.create_task(self._read(incoming))
        overflow = asyncio.create_task(self._overflow.wait())
        if self.connection.initialized:
            self._connected()
        try:
            await asyncio.wait({reader, writer, overflow}, return_when=asyncio.FIRST_COMPLETED)
            if reader.done() and not writer.done() and not overflow.done():
                reader.result()
                await self.session.input_ended()
                await self._finish_in_flight()
            else:
                self._end_early(writer, overflow)
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            overflow.cancel()
            await self.session.close()
            if not writer.done():
                await self._flush()
            self._closing = True
            writer.cancel()
            await asyncio.gather(writer, overflow, return_exceptions=True)

    def _end_early(self, writer: asyncio.Task[None], overflow: asyncio.Task[Any]) -> None:
        self._closing = True
        if overflow.done() and not writer.done():
            log(
                f"closing the connection: the client is not reading and {self._queued_bytes} bytes are queued "
                f"for it (limit {OUTGOING_HARD_LIMIT_BYTES})"
            )
            writer.cancel()
            return
        exc = writer.exception() if not writer.cancelled() else None
        if isinstance(exc, ConnectionError | OSError):
            log(f"closing the connection: the client went away while we were writing ({exc})")
        elif exc is not None:
            log(f"closing the connection: the writer failed: {type(exc).__name__} at {_origin(exc)}")
        else:
            log("closing the connection: the writer stopped")

    async def _finish_in_flight(self) -> None:
        if not self._tasks:
            return
        pending = list(self._tasks)
        _, still_running = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in still_running:
            task.cancel()
        await asyncio.gather(*still_running, return_exceptions=True)
