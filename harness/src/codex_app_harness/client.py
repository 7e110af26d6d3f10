"""The async harness core: one client per app-server connection, every notification buffered.

The promise: a test never depends on the order or timing of notifications. Everything the server sends
that is not a response to a pending request is kept in arrival order; `wait_for()` takes the first buffered
match or waits for one, and leaves everything else where it was. A timeout says what was awaited and what
arrived instead; a server that dies ends every wait at once with its exit status.

Waiting is "wake and rescan": an arrival that could satisfy a waiter only wakes it, and the waiter takes
the message from the buffer itself. A message is therefore always either in the buffer or returned to
exactly one caller; a waiter that times out or is cancelled cannot swallow one.

Transports (a subprocess on stdio, a websocket URL) only move lines; the matching logic lives here once and
the blocking facade in `codex_app_harness.sync` runs this same code on a background loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import inspect
import itertools
import json
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from codex_app_harness.chaos import Chaos
from codex_app_harness.invariants import InvariantChecker, Violation
from codex_app_harness.matching import Matcher, Predicate, conditions
from codex_app_harness.transcript import CLIENT, SERVER, Transcript

Responder = Callable[[dict[str, Any]], Any]
"""Called with a server request's params; returns the result (or an awaitable of it)."""

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
PAYLOAD_PREVIEW = 800
"""Characters of a payload shown in diagnostics: enough for a notification's ids and status fields."""
CLOSE_GRACE = 5.0
SETTLE_GRACE = 5.0
"""Seconds the end-of-test invariant check waits for what the server still owes (a response, a turn's
turn/completed) before calling it never sent. A wait for an event, not a silence window."""
STRAY_LINES_KEPT = 20


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
    """Nothing matching arrived in time (a notification, response or server request); the message is the
    diagnosis. An AssertionError so pytest reports it as a test failure, not an error in the harness."""


class UnexpectedNotification(HarnessError, AssertionError):
    """`assert_no` saw what must not arrive."""


class ServerExited(HarnessError):
    """The server process ended (or the connection closed) while something was still expected of it."""


@dataclass(frozen=True)
class Notification:
    method: str
    params: dict[str, Any]
    message: dict[str, Any]
    """The whole message as received (with `emittedAtMs` and anything else the server adds)."""
    seq: int = 0
    """Delivery order into the buffer (after chaos, if any)."""
    received: int = 0
    """Order on the wire: what the server sent first has the lower number, chaos or not. Sort by this
    (after `settle()`) to assert the order a server emits things in, e.g. the deltas of one message."""


def _id_key(request_id: Any) -> str:
    """JSON-RPC ids are compared as JSON values: 1 and "1" are different requests."""
    return json.dumps(request_id)


def _preview(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True)
    return text if len(text) <= PAYLOAD_PREVIEW else text[:PAYLOAD_PREVIEW] + "…"


@dataclass(eq=False)
class ServerRequest:
    """A server->client request; answer it exactly once with `respond()` or `fail()`."""

    id: int | str
    method: str
    params: dict[str, Any]
    message: dict[str, Any] = field(repr=False)
    _client: AsyncClient = field(repr=False)
    answered: bool = False
    taken: bool = False
    """Handed to the test by `wait_for_server_request` (diagnostics say "taken, not answered")."""

    async def respond(self, result: Any) -> None:
        await self._answer({"id": self.id, "result": result})

    async def fail(self, code: int, message: str, data: Any = None) -> None:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        await self._answer({"id": self.id, "error": error})

    async def _answer(self, message: dict[str, Any]) -> None:
        if self.answered:
            raise HarnessError(f"server request {self.method} (id {self.id!r}) was already answered")
        self.answered = True
        self._client._unanswered.pop(_id_key(self.id), None)
        await self._client.send_message(message)


class Transport(Protocol):
    """Moves whole messages. `receive()` returns None at end of stream."""

    async def send(self, line: str) -> None: ...

    async def receive(self) -> str | None: ...

    async def close(self) -> None: ...

    def exit_description(self) -> str:
        """How the peer ended (e.g. "exited with code 1"), for error messages."""
        ...

    def stderr_tail(self) -> list[str]: ...


@dataclass(eq=False)
class _Waiter:
    wants: Callable[[object], bool]
    future: asyncio.Future[None]


class AsyncClient:
    """One connection to an app-server."""

    def __init__(
        self,
        transport: Transport,
        *,
        chaos: Chaos | None = None,
        name: str = "app-server",
        transcript: Transcript | None = None,
    ) -> None:
        self.transport = transport
        self.chaos = chaos
        self.name = name
        self.transcript = transcript or Transcript()
        """Every message both ways, with timing (recorded to a file when the transcript has a sink)."""
        self.invariants = InvariantChecker()
        self.validators: list[Callable[[str, dict[str, Any]], None]] = []
        """Called with (kind, message) for every response ("response:<method>") and notification;
        an AssertionError fails the request, or (for notifications) lands in `validation_errors`."""
        self.validation_errors: list[AssertionError] = []
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._received = itertools.count(1)
        self._pending: dict[str, tuple[str, int | str, asyncio.Future[dict[str, Any]]]] = {}
        self._buffer: dict[str, OrderedDict[int, Notification]] = {}
        self._taken: Counter[str] = Counter()
        self._responders: dict[str, Responder] = {}
        self._server_requests: deque[ServerRequest] = deque()
        self._unanswered: dict[str, ServerRequest] = {}
        self._stray_responses: deque[dict[str, Any]] = deque()
        self._stray_lines: deque[str] = deque(maxlen=STRAY_LINES_KEPT)
        self._waiters: list[_Waiter] = []
        self._delayed: dict[int, asyncio.TimerHandle] = {}
        """Chaos deliveries scheduled and not yet made (timer callbacks: a task per notification costs 5x)."""
        self._all_delivered = asyncio.Event()
        self._all_delivered.set()
        self._responder_tasks: set[asyncio.Task[None]] = set()
        self._closed: ServerExited | None = None
        self._reader = asyncio.create_task(self._read_loop())

    @classmethod
    async def spawn(
        cls,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        chaos: Chaos | None = None,
        transcript: Transcript | None = None,
    ) -> AsyncClient:
        """Start a stdio app-server as a child process and connect to it."""
        from codex_app_harness.transports import SubprocessTransport

        transport = await SubprocessTransport.start(command, env=env, cwd=cwd)
        return cls(transport, chaos=chaos, name=_short_command(command), transcript=transcript)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        chaos: Chaos | None = None,
        transcript: Transcript | None = None,
    ) -> AsyncClient:
        """Connect to a websocket app-server (`ws://127.0.0.1:PORT`), optionally with a bearer token."""
        from codex_app_harness.transports import WebSocketTransport

        transport = await WebSocketTransport.connect(url, token=token, headers=headers)
        return cls(transport, chaos=chaos, name=url, transcript=transcript)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ requests

    async def send_message(self, message: dict[str, Any]) -> None:
        await self._send(json.dumps(message), message)

    async def send_raw(self, line: str) -> None:
        """Write `line` as is (for malformed-input tests). A dead server raises ServerExited with its status.

        `line` may hold several newline-separated messages (a pipelined write); each one that parses counts
        as sent, so the requests among them are owed their answers like any other."""
        parsed: list[Any] = []
        for piece in line.split("\n"):
            try:
                parsed.append(json.loads(piece))
            except ValueError:
                continue
        await self._send(line, parsed[0] if len(parsed) == 1 else parsed)

    async def _send(self, line: str, message: Any) -> None:
        if self._closed is not None:
            raise ServerExited(f"{self._closed} (could not send {line[:200]!r})")
        self.transcript.add(CLIENT, line, is_json=isinstance(message, dict))
        self.invariants.client_sent(message)
        try:
            await self.transport.send(line)
        except Exception as exc:  # any transport failure here means the peer is gone
            # The reader sees the end of stream right behind the failed write and knows the exit status.
            await asyncio.wait({self._reader}, timeout=CLOSE_GRACE)
            status = self._closed or f"{self.name} connection failed"
            raise ServerExited(f"{status} (could not send {line[:200]!r}: {exc!r})") from exc

    async def request(
        self,
        method: str,
        params: Any = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        request_id: int | str | None = None,
    ) -> Any:
        """Send a request and return its result; a JSON-RPC error raises RpcResponseError."""
        rid = next(self._ids) if request_id is None else request_id
        key = _id_key(rid)
        if key in self._pending:
            raise HarnessError(f"request id {rid!r} is already pending ({self._pending[key][0]})")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[key] = (method, rid, future)
        message: dict[str, Any] = {"id": rid, "method": method}
        if params is not None:
            message["params"] = params
        awaited = f"response to {method} (id {rid!r})"
        try:
            await self.send_message(message)
            response = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.invariants.request_timed_out(rid)
            raise NotificationTimeout(self._diagnose(awaited, timeout=timeout)) from None
        except ServerExited as exc:
            raise ServerExited(self._diagnose(awaited, cause=exc)) from None
        finally:
            self._pending.pop(key, None)
        if "error" in response:
            raise RpcResponseError(method, response["error"])
        self._validate(f"response:{method}", response)
        return response.get("result")

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

    async def wait_for_response(
        self, request_id: int | str | None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """The whole response message with this id to something sent with `send_raw` (None for the
        `"id": null` of a parse error). Responses nobody is waiting for are buffered until taken."""
        key = _id_key(request_id)

        def take() -> dict[str, Any] | None:
            for message in self._stray_responses:
                if _id_key(message.get("id")) == key:
                    self._stray_responses.remove(message)
                    return message
            return None

        def wants(item: object) -> bool:
            return isinstance(item, dict) and _id_key(item.get("id")) == key

        return await self._wait(take, wants, timeout, f"response with id {request_id!r}")

    # ------------------------------------------------------------------ notifications

    async def wait_for(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        where: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **fields: Any,
    ) -> dict[str, Any]:
        """The params of the first notification matching; buffered ones first, then new arrivals.

        Conditions are `match={"dotted.path": value}` and/or keyword fields; `where` is a predicate on the
        whole params (see docs/harness.md, "Matching rules")."""
        note = await self.wait_for_notification(method, match, where=where, timeout=timeout, **fields)
        return note.params

    async def wait_for_notification(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        where: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **fields: Any,
    ) -> Notification:
        """Like `wait_for`, returning the whole Notification (method, params, raw message, order)."""
        matcher = Matcher(method, conditions(match, fields), where)

        def take() -> Notification | None:
            bucket = self._buffer.get(method)
            if not bucket:
                return None
            for seq, note in bucket.items():
                if matcher.matches(note.params):
                    del bucket[seq]
                    self._taken[method] += 1
                    return note
            return None

        def wants(item: object) -> bool:
            return isinstance(item, Notification) and item.method == method and matcher.matches(item.params)

        return await self._wait(take, wants, timeout, matcher.describe(), matcher)

    async def settle(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Return once every notification read so far is in the buffer (only chaos holds any back).

        Not a silence window: it covers exactly what already arrived. After waiting for a final
        notification, `settle()` guarantees everything the server sent before it is buffered too."""
        try:
            await asyncio.wait_for(self._all_delivered.wait(), timeout)
        except TimeoutError:
            raise NotificationTimeout(self._diagnose("chaos deliveries to finish", timeout=timeout)) from None

    def buffered(self, method: str | None = None) -> list[Notification]:
        """Notifications received and not yet taken, oldest first (optionally of one method)."""
        if method is not None:
            return list(self._buffer.get(method, {}).values())
        notes = [note for bucket in self._buffer.values() for note in bucket.values()]
        return sorted(notes, key=lambda note: note.seq)

    def drain(self, method: str | None = None) -> list[Notification]:
        """Remove and return buffered notifications (of one method, or all), oldest first."""
        taken = self.buffered(method)
        for note in taken:
            del self._buffer[note.method][note.seq]
            self._taken[note.method] += 1
        return taken

    async def assert_no(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        within: float = 0.5,
        where: Predicate | None = None,
        **fields: Any,
    ) -> None:
        """Fail if a matching notification is buffered or arrives within `within` seconds.

        Only for "this must never happen" checks. Silence for a while never proves a notification was the
        last of its kind: to get a final state, wait for the final payload with a predicate instead."""
        try:
            note = await self.wait_for_notification(method, match, where=where, timeout=within, **fields)
        except NotificationTimeout:
            return
        matcher = Matcher(method, conditions(match, fields), where)
        raise UnexpectedNotification(f"unexpected {matcher.describe()} from {self.name}: {_preview(note.params)}")

    # ------------------------------------------------------------------ server -> client requests

    def respond_to(self, method: str, responder: Responder | Any) -> None:
        """Answer every `method` request from the server with `responder(params)` or a fixed result.

        Requests of that method already buffered are answered now, so registering late is not a race."""
        self._responders[method] = responder if callable(responder) else _fixed_result(responder)
        for request in [r for r in self._server_requests if r.method == method]:
            self._server_requests.remove(request)
            self._start_responder(request)

    async def wait_for_server_request(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        where: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **fields: Any,
    ) -> ServerRequest:
        """The first server request of `method` (matching fields/where on its params) that no responder
        answered; answer it with `respond()` or `fail()`."""
        matcher = Matcher(method, conditions(match, fields), where)

        def take() -> ServerRequest | None:
            for request in self._server_requests:
                if request.method == method and matcher.matches(request.params):
                    self._server_requests.remove(request)
                    request.taken = True
                    return request
            return None

        def wants(item: object) -> bool:
            return isinstance(item, ServerRequest) and item.method == method and matcher.matches(item.params)

        return await self._wait(take, wants, timeout, f"server request {matcher.describe()}")

    # ------------------------------------------------------------------ waiting

    async def _wait(
        self,
        take: Callable[[], T | None],
        wants: Callable[[object], bool],
        timeout: float,
        awaited: str,
        matcher: Matcher | None = None,
    ) -> T:
        """Take from a buffer, or sleep until an arrival that `wants` likes, the deadline, or the end."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = take()
            if found is not None:
                return found
            if self._closed is not None:
                raise ServerExited(self._diagnose(awaited, matcher, cause=self._closed))
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NotificationTimeout(self._diagnose(awaited, matcher, timeout=timeout))
            await self._next_arrival(wants, remaining)

    async def _next_arrival(self, wants: Callable[[object], bool], timeout: float) -> None:
        """Return when a message `wants` arrives, or after `timeout` seconds, whichever comes first."""
        waiter = _Waiter(wants, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.remove(waiter)

    def _wake(self, item: object) -> None:
        for waiter in self._waiters:
            if not waiter.future.done() and waiter.wants(item):
                waiter.future.set_result(None)

    # ------------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        try:
            while (line := await self.transport.receive()) is not None:
                self._on_line(line)
            reason = f"{self.name} {self.transport.exit_description()}"
        except Exception as exc:  # a broken transport must end every wait, not hang it
            reason = f"{self.name} connection failed: {exc!r}"
        if self._delayed:  # notifications already read still reach the buffer before the end is declared
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_delivered.wait(), (self.chaos.max_delay if self.chaos else 0) + 1)
        self._close(ServerExited(reason))

    def _on_line(self, line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        self.transcript.add(SERVER, line, is_json=isinstance(message, dict))
        if not isinstance(message, dict):
            self._stray_lines.append(line.rstrip("\n"))  # servers may log to stdout; only JSON objects are protocol
            return
        try:
            if "method" in message and "id" in message:
                self._on_server_request(message)
            elif "method" in message:
                self._on_notification(message)
            elif "id" in message:
                self._on_response(message)
            else:
                self._stray_lines.append(line.rstrip("\n"))
        except Exception as exc:  # a validator or responder bug must surface, not kill the reader
            self.validation_errors.append(AssertionError(f"harness failed on {line[:300]!r}: {exc!r}"))

    def _on_response(self, message: dict[str, Any]) -> None:
        self.invariants.response(message)
        entry = self._pending.get(_id_key(message["id"]))
        if entry is not None and not entry[2].done():
            entry[2].set_result(message)
            if self._waiters:
                self._wake(message)
            return
        self._stray_responses.append(message)
        self._wake(message)

    def _on_notification(self, message: dict[str, Any]) -> None:
        try:
            self._validate("notification", message)
        except AssertionError as exc:
            self.validation_errors.append(exc)
        except Exception as exc:  # a broken validator is reported, and the notification still delivered
            self.validation_errors.append(AssertionError(f"validator failed on {message.get('method')}: {exc!r}"))
        params = message.get("params")
        method, params = message["method"], params if isinstance(params, dict) else {}
        self.invariants.notification(method, params)
        received = next(self._received)
        if self.chaos is None:
            self._deliver(method, params, message, received)
            return
        self._all_delivered.clear()
        self._delayed[received] = asyncio.get_running_loop().call_later(
            self.chaos.delay(), self._deliver_delayed, method, params, message, received
        )

    def _deliver_delayed(self, method: str, params: dict[str, Any], message: dict[str, Any], received: int) -> None:
        del self._delayed[received]
        self._deliver(method, params, message, received)
        if not self._delayed:
            self._all_delivered.set()

    def _deliver(self, method: str, params: dict[str, Any], message: dict[str, Any], received: int) -> None:
        note = Notification(method, params, message, next(self._seq), received)
        bucket = self._buffer.get(method)
        if bucket is None:
            bucket = self._buffer[method] = OrderedDict()
        bucket[note.seq] = note
        if self._waiters:
            self._wake(note)

    def _on_server_request(self, message: dict[str, Any]) -> None:
        params = message.get("params")
        request = ServerRequest(
            message["id"], message["method"], params if isinstance(params, dict) else {}, message, self
        )
        self._unanswered[_id_key(request.id)] = request
        if request.method in self._responders:
            self._start_responder(request)
            return
        self._server_requests.append(request)
        self._wake(request)

    def _start_responder(self, request: ServerRequest) -> None:
        task = asyncio.create_task(self._answer(request, self._responders[request.method]))
        self._responder_tasks.add(task)
        task.add_done_callback(self._responder_tasks.discard)

    async def _answer(self, request: ServerRequest, responder: Responder) -> None:
        with contextlib.suppress(ServerExited):  # the server went away; the waits report that
            try:
                result = responder(request.params)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                await request.fail(-32603, f"harness responder for {request.method} failed: {exc!r}")
                return
            await request.respond(result)

    def _validate(self, kind: str, message: dict[str, Any]) -> None:
        for validator in self.validators:
            validator(kind, message)

    def _close(self, reason: ServerExited) -> None:
        if self._closed is not None:
            return
        self._closed = reason
        for _, _, future in self._pending.values():
            if not future.done():
                future.set_exception(reason)
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_result(None)

    # ------------------------------------------------------------------ diagnostics

    def _diagnose(
        self,
        awaited: str,
        matcher: Matcher | None = None,
        *,
        cause: BaseException | None = None,
        timeout: float | None = None,
    ) -> str:
        """Everything a reader of a failed test needs to see why the wait failed, without rerunning it."""
        if cause is None:
            lines = [f"timed out after {timeout:g}s waiting for {awaited} from {self.name}"]
        else:
            lines = [f"{cause} while waiting for {awaited}"]
        notes = self.buffered()
        counts = Counter(note.method for note in notes)
        listing = ", ".join(f"{method} x{count}" for method, count in counts.most_common())
        lines.append(f"buffered notifications: {listing or 'none'}")
        if matcher is not None:
            lines.extend(self._near_miss(matcher, list(counts)))
        pending = [f"{method} (id {rid!r})" for method, rid, _ in self._pending.values()]
        if pending:
            lines.append("requests still pending: " + ", ".join(pending))
        unanswered = [f"{r.method} (id {r.id!r}, {self._request_state(r)})" for r in self._unanswered.values()]
        if unanswered:
            lines.append("server requests nobody answered: " + ", ".join(unanswered))
        if self._stray_responses:
            ids = ", ".join(repr(message.get("id")) for message in self._stray_responses)
            lines.append(f"responses nobody waited for (ids): {ids}")
        if self._stray_lines:
            lines.append(f"non-protocol stdout lines (last): {self._stray_lines[-1][:200]!r}")
        if self.validation_errors:
            lines.append(f"schema/validation errors so far: {len(self.validation_errors)}")
        if self.chaos is not None:
            lines.append(self.chaos.describe())
        tail = self.transport.stderr_tail()
        if tail:
            lines.append(f"server stderr (last {len(tail)} lines):")
            lines.extend(f"  | {line}" for line in tail)
        return "\n".join(lines)

    def _request_state(self, request: ServerRequest) -> str:
        if request.taken:
            return "taken, not answered"
        return "responder still running" if request.method in self._responders else "buffered"

    def _near_miss(self, matcher: Matcher, buffered_methods: list[str]) -> list[str]:
        bucket = self._buffer.get(matcher.method)
        lines = []
        if bucket:
            closest = matcher.closest(note.params for note in bucket.values())
            if closest is not None:
                params, missed = closest
                lines.append(f"closest {matcher.method}: {_preview(params)}")
                lines.extend(f"  but {miss}" for miss in missed)
        else:
            similar = difflib.get_close_matches(matcher.method, buffered_methods, n=3, cutoff=0.6)
            if similar:
                lines.append(f"no {matcher.method} buffered; similar methods: {', '.join(similar)}")
        if self._taken[matcher.method]:
            lines.append(f"{matcher.method} already taken by earlier waits or drains: {self._taken[matcher.method]}")
        return lines

    # ------------------------------------------------------------------ invariants

    async def finish_invariants(self, *, grace: float = SETTLE_GRACE) -> list[Violation]:
        """Every invariant broken on this connection, once the server has had `grace` seconds to send what it
        still owes. A connection that already ended owes nothing more (the test saw the server go)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while not self.invariants.settled() and self._closed is None and (remaining := deadline - loop.time()) > 0:
            await self._next_arrival(lambda _item: True, remaining)
        owed = self.invariants.unfinished() if self._closed is None else []
        return [*self.invariants.violations, *owed]

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> ServerExited | None:
        """Why the connection ended, or None while it is open."""
        return self._closed

    async def close(self) -> None:
        """Close the connection (for a subprocess: EOF, then terminate, then kill) and stop helper tasks."""
        with contextlib.suppress(Exception):
            await self.transport.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._reader, CLOSE_GRACE)
        for handle in self._delayed.values():
            handle.cancel()
        for task in self._responder_tasks:
            task.cancel()


def _short_command(command: Sequence[str]) -> str:
    """ "python -m server", "codex app-server": enough to tell servers apart in a message, without tmp paths."""
    return " ".join(Path(part).name if "/" in part else part for part in command[:3])


def _fixed_result(value: Any) -> Responder:
    def respond(_params: dict[str, Any]) -> Any:
        return value

    return respond
