"""The async harness core: one client per app-server connection, every notification buffered.

The promise: a test never depends on the order or timing of notifications. Everything the server sends
that is not a response is kept in arrival order; `wait_for()` takes the first buffered match or waits for
one, and leaves everything else where it was. Timeouts say what was awaited and what arrived instead.

Transports (a subprocess on stdio, a websocket URL) only move lines; the matching logic lives here once and
the blocking facade in `harness.sync` runs this same code on a background loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Predicate = Callable[[dict[str, Any]], bool]
Responder = Callable[[dict[str, Any]], Any]

DEFAULT_TIMEOUT = 10.0
STDERR_TAIL_LINES = 40
MISSING = object()


class HarnessError(Exception):
    """Base of every harness failure."""


class RpcResponseError(HarnessError):
    """The server answered a request with a JSON-RPC error."""

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        self.method = method
        self.code: int = error.get("code", 0)
        self.message: str = error.get("message", "")
        self.data: Any = error.get("data")
        super().__init__(f"{method} failed with {self.code}: {self.message}")


class NotificationTimeout(HarnessError, AssertionError):
    """Nothing matching arrived in time; the message is the diagnosis."""


class ServerExited(HarnessError):
    """The server process ended (or the connection closed) while something was still expected of it."""


@dataclass(frozen=True)
class Notification:
    method: str
    params: dict[str, Any]
    message: dict[str, Any]
    """The whole message as received (with `emittedAtMs` and anything else the server adds)."""


@dataclass
class ServerRequest:
    """A server->client request nobody had a responder for; answer it with `respond()` or `fail()`."""

    id: int | str
    method: str
    params: dict[str, Any]
    _client: AsyncClient = field(repr=False)

    async def respond(self, result: Any) -> None:
        await self._client.send_message({"id": self.id, "result": result})

    async def fail(self, code: int, message: str) -> None:
        await self._client.send_message({"id": self.id, "error": {"code": code, "message": message}})


class Transport(Protocol):
    """Moves whole messages. `receive()` returns None at end of stream."""

    async def send(self, line: str) -> None: ...

    async def receive(self) -> str | None: ...

    async def close(self) -> None: ...

    def exit_description(self) -> str:
        """How the peer ended (e.g. "exited with code 1"), for error messages."""
        ...

    def stderr_tail(self) -> list[str]: ...


def lookup(payload: Mapping[str, Any], dotted: str) -> Any:
    """`payload["a"]["b"]` for "a.b"; list elements by index ("items.0.id"); MISSING if absent."""
    current: Any = payload
    for part in dotted.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


@dataclass(frozen=True)
class Matcher:
    """What a waiter wants: a method plus field equalities (dotted paths) and an optional predicate."""

    method: str
    fields: Mapping[str, Any]
    where: Predicate | None = None

    def matches(self, note: Notification) -> bool:
        if note.method != self.method:
            return False
        if any(lookup(note.params, key) != value for key, value in self.fields.items()):
            return False
        return self.where is None or bool(self.where(note.params))

    def closeness(self, note: Notification) -> int:
        """How many field conditions a same-method notification meets: ranks near misses."""
        return sum(lookup(note.params, key) == value for key, value in self.fields.items())

    def describe(self) -> str:
        parts = [f"{key}={value!r}" for key, value in self.fields.items()]
        if self.where is not None:
            parts.append(f"where={getattr(self.where, '__name__', 'predicate')}")
        return f"{self.method}({', '.join(parts)})"


@dataclass
class Chaos:
    """Delays and reorders notification delivery, deterministically from a seed.

    Each notification is held back a random 0..max_delay seconds before it reaches the buffer, so
    notifications sent close together can overtake each other. The seed is printed in every failure.
    """

    seed: int
    max_delay: float = 0.05
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def delay(self) -> float:
        return self.rng.uniform(0, self.max_delay)


def _fixed_result(value: Any) -> Responder:
    def respond(_params: dict[str, Any]) -> Any:
        return value

    return respond


class AsyncClient:
    """One connection to an app-server."""

    def __init__(self, transport: Transport, *, chaos: Chaos | None = None, name: str = "app-server") -> None:
        self.transport = transport
        self.chaos = chaos
        self.name = name
        self.validators: list[Callable[[str, dict[str, Any]], None]] = []
        """Called with (kind, message) for every response ("response:<method>") and notification;
        an AssertionError fails the request, or (for notifications) lands in `validation_errors`."""
        self.validation_errors: list[AssertionError] = []
        self._ids = itertools.count(1)
        self._pending: dict[int | str, tuple[str, asyncio.Future[Any]]] = {}
        self._buffer: deque[Notification] = deque()
        self._waiters: list[tuple[Matcher, asyncio.Future[Notification]]] = []
        self._responders: dict[str, Responder] = {}
        self._server_requests: deque[ServerRequest] = deque()
        self._request_waiters: list[tuple[str, asyncio.Future[ServerRequest]]] = []
        self._delayed: set[asyncio.Task[None]] = set()
        self._closed: BaseException | None = None
        self._reader = asyncio.create_task(self._read_loop())

    # ------------------------------------------------------------------ requests

    async def send_message(self, message: dict[str, Any]) -> None:
        await self.transport.send(json.dumps(message))

    async def request(
        self,
        method: str,
        params: Any = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        request_id: int | str | None = None,
    ) -> Any:
        """Send a request and return its result; a JSON-RPC error raises RpcResponseError."""
        if self._closed is not None:
            raise self._closed
        rid = next(self._ids) if request_id is None else request_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (method, future)
        message: dict[str, Any] = {"id": rid, "method": method}
        if params is not None:
            message["params"] = params
        await self.send_message(message)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise NotificationTimeout(self._diagnose(f"response to {method} (id {rid!r})", None)) from None
        finally:
            self._pending.pop(rid, None)

    async def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = params
        await self.send_message(message)

    async def initialize(
        self,
        *,
        name: str = "harness",
        version: str = "0.0.0",
        experimental_api: bool = False,
        opt_out: Sequence[str] = (),
    ) -> dict[str, Any]:
        capabilities: dict[str, Any] = {"experimentalApi": experimental_api}
        if opt_out:
            capabilities["optOutNotificationMethods"] = list(opt_out)
        result: dict[str, Any] = await self.request(
            "initialize", {"clientInfo": {"name": name, "version": version}, "capabilities": capabilities}
        )
        return result

    # ------------------------------------------------------------------ notifications

    async def wait_for(
        self, method: str, *, where: Predicate | None = None, timeout: float = DEFAULT_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """The params of the first notification matching; buffered ones first, then new arrivals."""
        note = await self.wait_for_notification(method, where=where, timeout=timeout, **fields)
        return note.params

    async def wait_for_notification(
        self, method: str, *, where: Predicate | None = None, timeout: float = DEFAULT_TIMEOUT, **fields: Any
    ) -> Notification:
        matcher = Matcher(method, fields, where)
        for note in self._buffer:
            if matcher.matches(note):
                self._buffer.remove(note)
                return note
        if self._closed is not None:
            raise ServerExited(self._diagnose(matcher.describe(), matcher, cause=self._closed))
        future: asyncio.Future[Notification] = asyncio.get_running_loop().create_future()
        entry = (matcher, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise NotificationTimeout(self._diagnose(matcher.describe(), matcher)) from None
        except ServerExited as exc:
            raise ServerExited(self._diagnose(matcher.describe(), matcher, cause=exc)) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def buffered(self, method: str | None = None) -> list[Notification]:
        """Notifications received and not yet taken, oldest first (optionally of one method)."""
        return [note for note in self._buffer if method is None or note.method == method]

    def drain(self, method: str | None = None) -> list[Notification]:
        """Remove and return buffered notifications (of one method, or all)."""
        taken = self.buffered(method)
        for note in taken:
            self._buffer.remove(note)
        return taken

    async def assert_no(
        self, method: str, *, within: float = 0.5, where: Predicate | None = None, **fields: Any
    ) -> None:
        """Fail if a matching notification is buffered or arrives within `within` seconds."""
        try:
            note = await self.wait_for_notification(method, where=where, timeout=within, **fields)
        except NotificationTimeout:
            return
        raise AssertionError(f"unexpected notification {note.method}: {json.dumps(note.params)[:500]}")

    # ------------------------------------------------------------------ server -> client requests

    def respond_to(self, method: str, responder: Responder | Any) -> None:
        """Answer every `method` request from the server with `responder(params)` or a fixed result."""
        self._responders[method] = responder if callable(responder) else _fixed_result(responder)

    async def wait_for_server_request(self, method: str, *, timeout: float = DEFAULT_TIMEOUT) -> ServerRequest:
        for request in self._server_requests:
            if request.method == method:
                self._server_requests.remove(request)
                return request
        future: asyncio.Future[ServerRequest] = asyncio.get_running_loop().create_future()
        entry = (method, future)
        self._request_waiters.append(entry)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise NotificationTimeout(self._diagnose(f"server request {method}", None)) from None
        finally:
            if entry in self._request_waiters:
                self._request_waiters.remove(entry)

    # ------------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        try:
            while (line := await self.transport.receive()) is not None:
                self._on_line(line)
            await asyncio.gather(*self._delayed, return_exceptions=True)
            self._close(ServerExited(f"{self.name} {self.transport.exit_description()}"))
        except Exception as exc:  # a broken transport must fail every waiter, not hang them
            self._close(ServerExited(f"{self.name} connection failed: {exc!r}"))

    def _on_line(self, line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return  # servers may log to stdout; only JSON is protocol
        if not isinstance(message, dict):
            return
        if "method" in message and "id" in message:
            self._on_server_request(message)
        elif "method" in message:
            self._on_notification(message)
        elif "id" in message:
            self._on_response(message)

    def _on_response(self, message: dict[str, Any]) -> None:
        entry = self._pending.get(message["id"])
        if entry is None:
            return
        method, future = entry
        if future.done():
            return
        if "error" in message:
            future.set_exception(RpcResponseError(method, message["error"]))
            return
        try:
            self._validate(f"response:{method}", message)
        except AssertionError as exc:
            future.set_exception(exc)
            return
        future.set_result(message.get("result"))

    def _on_notification(self, message: dict[str, Any]) -> None:
        try:
            self._validate("notification", message)
        except AssertionError as exc:
            self.validation_errors.append(exc)
        params = message.get("params")
        note = Notification(message["method"], params if isinstance(params, dict) else {}, message)
        if self.chaos is None:
            self._deliver(note)
            return
        task = asyncio.create_task(self._deliver_later(note, self.chaos.delay()))
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)

    async def _deliver_later(self, note: Notification, delay: float) -> None:
        await asyncio.sleep(delay)
        self._deliver(note)

    def _deliver(self, note: Notification) -> None:
        for matcher, future in self._waiters:
            if not future.done() and matcher.matches(note):
                future.set_result(note)
                return
        self._buffer.append(note)

    def _on_server_request(self, message: dict[str, Any]) -> None:
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        request = ServerRequest(message["id"], message["method"], params or {}, self)
        responder = self._responders.get(request.method)
        if responder is not None:
            task = asyncio.create_task(self._answer(request, responder))
            self._delayed.add(task)
            task.add_done_callback(self._delayed.discard)
            return
        for method, future in self._request_waiters:
            if method == request.method and not future.done():
                future.set_result(request)
                return
        self._server_requests.append(request)

    async def _answer(self, request: ServerRequest, responder: Responder) -> None:
        try:
            result = responder(request.params)
            if asyncio.iscoroutine(result):
                result = await result
        except Exception as exc:
            await request.fail(-32603, f"harness responder failed: {exc}")
            return
        await request.respond(result)

    def _validate(self, kind: str, message: dict[str, Any]) -> None:
        for validator in self.validators:
            validator(kind, message)

    def _close(self, reason: BaseException) -> None:
        if self._closed is not None:
            return
        self._closed = reason
        for _, future in self._pending.values():
            if not future.done():
                future.set_exception(reason)
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(reason)
        for _, request_future in self._request_waiters:
            if not request_future.done():
                request_future.set_exception(reason)

    # ------------------------------------------------------------------ diagnostics

    def _diagnose(self, awaited: str, matcher: Matcher | None, cause: BaseException | None = None) -> str:
        lines = [
            f"timed out waiting for {awaited} from {self.name}"
            if cause is None
            else f"{cause} while waiting for {awaited}"
        ]
        counts = Counter(note.method for note in self._buffer)
        if counts:
            lines.append("buffered notifications: " + ", ".join(f"{m} x{n}" for m, n in counts.most_common()))
        else:
            lines.append("buffered notifications: none")
        if matcher is not None:
            near = [note for note in self._buffer if note.method == matcher.method]
            if near:
                best = max(near, key=matcher.closeness)
                lines.append(f"closest {matcher.method}: {json.dumps(best.params)[:800]}")
        pending = [f"{method} (id {rid!r})" for rid, (method, _) in self._pending.items()]
        if pending:
            lines.append("requests still pending: " + ", ".join(pending))
        unanswered = [f"{r.method} (id {r.id!r})" for r in self._server_requests]
        if unanswered:
            lines.append("server requests nobody answered: " + ", ".join(unanswered))
        if self.chaos is not None:
            lines.append(f"chaos seed: {self.chaos.seed} (rerun with --harness-chaos={self.chaos.seed})")
        tail = self.transport.stderr_tail()
        if tail:
            lines.append("server stderr (last lines):")
            lines.extend(f"  | {line}" for line in tail)
        return "\n".join(lines)

    # ------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        await self.transport.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._reader, 5)
        for task in list(self._delayed):
            task.cancel()
