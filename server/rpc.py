"""The JSON-RPC 2.0 core: bytes in, decisions and bytes out, no I/O.

A `Connection` holds one client's protocol state (initialized or not, opted-out notifications, requests in
flight, server->client requests awaiting an answer). `receive()` turns one incoming message into exactly one
`Inbound` event telling the transport what to do; `finish()`, `notification()` and `server_request()` turn
outcomes into wire bytes. Like h11's Connection, it never touches a socket or a file and never imports
asyncio, so stdio, websocket and the tests drive the same object and the rules below live in one place.

Framing is the transport's job: stdio gives one message per line, websocket one per text frame.

Wire conventions follow upstream 0.163 as measured (protocol notes, section 1):

- Server messages carry no "jsonrpc" member; a client's "jsonrpc" member (any value) is ignored.
- A response is `{"id", "result"}`; an error is `{"error", "id"}`; a notification is
  `{"method", "params", "emittedAtMs"}`.
- Undecodable input (bad JSON, a non-object, an object that is neither request, notification nor
  response) is never answered: there is no id to answer. It is reported for the log and the connection
  goes on. A request whose id is null or a float is treated as a notification, as upstream does.
- Order of checks for a request: method known, params valid, connection initialized, experimental gate.
  Hence a request with bad params before `initialize` gets the params error, not "Not initialized".
- Input is strict UTF-8 (RFC 3629 section 3: the surrogate code points D800-DFFF are not characters, so a
  lone surrogate, raw or as a JSON `\\ud800` escape, makes the message undecodable; a well-formed escaped
  pair is one character and fine), and at most MAX_NESTING containers deep. Upstream's parser (serde_json)
  has the same two rules; what violates them is undecodable input like any other.
- Output is UTF-8 too. File names that are not UTF-8 reach us surrogate-escaped (`os.fsdecode`, PEP 383);
  `wire_bytes` turns them into U+FFFD the way upstream's `to_string_lossy` does, once, for every message.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from server.protocol import initialize as init
from server.protocol.errors import (
    InternalError,
    InvalidRequest,
    RpcError,
    ServerOverloaded,
    invalid_params,
    wire_error,
)
from server.protocol.upstream_methods import UPSTREAM_CLIENT_METHODS

RequestId = str | int
JsonValue = Any

DEFAULT_MAX_IN_FLIGHT = 1024
"""Requests dispatched but not yet answered, per connection, before new ones get -32001.

Sized so that a pipelined burst of 1000 small requests (the burst upstream drops 10-25% of) is simply queued
and answered; handlers that are slow get the error before memory grows without bound. Transports add real
backpressure on top by not reading while their outgoing queue is full, so a well-behaved client never sees
-32001 and a runaway one is refused instead of starving everyone.
"""


MAX_NESTING = 127
"""Deepest nesting of arrays and objects accepted in one message, the top-level object included.

serde_json, upstream's parser, stops at a recursion limit of 128: measured on the 0.163 binary, a request
127 containers deep is answered and one 128 deep is ignored as undecodable. Python's own parser would
recurse until RecursionError (about 1000 levels), so we check first.
"""

_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
"""Strings (skipped whole, so brackets inside them do not count) or one bracket."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape of a surrogate code point; only text containing one can decode to a lone surrogate."""


class UndecodableMessage(ValueError):
    """Input that is not one JSON text we accept; the message says why, for the log."""


def nesting_depth_exceeds(text: str, limit: int = MAX_NESTING) -> bool:
    """True when arrays and objects in `text` nest deeper than `limit`. Linear; cheap for flat messages."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _STRUCTURE.finditer(text):
        lexeme = match.group()
        if lexeme in "[{":
            depth += 1
            if depth > limit:
                return True
        elif lexeme in "]}":
            depth -= 1
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def decode(data: str | bytes) -> Any:
    """One incoming message as JSON, under the input rules of the module docstring; UndecodableMessage else."""
    try:
        if isinstance(data, bytes | bytearray):
            text = data.decode("utf-8")
        else:
            text = data
            if not text.isascii():
                text.encode("utf-8")  # a str from a lenient decoder may already hold surrogates
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        raise UndecodableMessage(f"message is not valid UTF-8 ({exc.reason} at {exc.start})") from None
    if nesting_depth_exceeds(text):
        raise UndecodableMessage(f"message nests deeper than {MAX_NESTING} arrays or objects")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UndecodableMessage(f"failed to decode JSON-RPC message: {exc}") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(message):
        raise UndecodableMessage("message contains a lone surrogate (\\uD800-\\uDFFF), which is not a character")
    return message


class Handler(Protocol):
    def __call__(self, session: Any, params: Any, /) -> Awaitable[Any]: ...


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One row of the method table: name -> params parser -> handler."""

    name: str
    parse_params: Callable[[JsonValue], Any]
    """Validates raw params (None when absent) and returns the handler's argument; raises InvalidRequest."""
    handler: Handler
    experimental: bool = False
    """Gated behind `capabilities.experimentalApi` like upstream's experimental methods."""


class MethodTable(Protocol):
    def get(self, name: str) -> MethodSpec | None: ...

    def names(self) -> Iterable[str]: ...


# ----------------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Reply:
    """Send these bytes; nothing else to do (errors, initialize, overload)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Run `spec.handler(session, params)`, then hand the outcome to `Connection.finish(request_id, ...)`."""

    request_id: RequestId
    spec: MethodSpec
    params: Any


@dataclass(frozen=True, slots=True)
class ClientReply:
    """A client's answer to one of our server->client requests."""

    request_id: RequestId
    method: str
    result: JsonValue = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing to send. `log` says why, for stderr, when the input was malformed."""

    log: str | None = None


Inbound = Reply | Dispatch | ClientReply | Ignored


# ----------------------------------------------------------------------------------------------- encoding


def encode(message: dict[str, Any]) -> str:
    """Compact JSON, non-ASCII kept as is; the transport adds framing. Raises ValueError or TypeError for
    what JSON cannot say (NaN, a non-JSON type): such a message is never sent half right."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class UnencodableMessage(ValueError):
    """A message holding text that is not Unicode (a lone surrogate that no file name explains)."""


def wire_bytes(text: str) -> bytes:
    """The UTF-8 bytes of one encoded message, with non-UTF-8 file names made lossy as upstream sends them.

    A name `os.fsdecode` got from bytes that are not UTF-8 carries each bad byte as a surrogate escape
    (U+DC80-U+DCFF, PEP 383). Upstream converts such paths with Rust's `to_string_lossy`, which puts one
    U+FFFD per maximal invalid subsequence; restoring the original bytes and decoding them with Python's
    "replace" handler gives exactly that (both follow the Unicode Standard's recommended practice, chapter
    3, "U+FFFD Substitution of Maximal Subparts"). Any other lone surrogate raises UnencodableMessage.
    """
    if text.isascii():
        return text.encode("ascii")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as exc:
        raise UnencodableMessage(f"message holds a lone surrogate at character {exc.start}") from None
    return raw.decode("utf-8", errors="replace").encode("utf-8")


@dataclass(frozen=True, slots=True)
class RawJson:
    """A result that is already UTF-8 JSON, in pieces spliced into the response as they are.

    For large payloads that need no escaping (fs/readFile's base64): json.dumps would scan and copy every
    byte of them again, which costs more than producing them, and each further copy of a 27 MB message
    (into a str, then into bytes) is a fresh allocation whose page faults cost as much as the copy. The
    pieces are joined once, into the response itself. The producer vouches for the text.
    """

    parts: tuple[bytes, ...]


def encode_result(request_id: RequestId, result: JsonValue) -> str:
    return encode({"id": request_id, "result": result})


def encode_raw_result(request_id: RequestId, result: RawJson) -> bytes:
    """The response carrying `result`, built in one join."""
    head = f'{{"id":{json.dumps(request_id, ensure_ascii=False)},"result":'.encode()
    return b"".join((head, *result.parts, b"}"))


def encode_error(request_id: RequestId, error: RpcError) -> str:
    return encode({"error": error.to_wire(), "id": request_id})


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


# ----------------------------------------------------------------------------------------------- connection


@dataclass(slots=True)
class ServerInfo:
    """What initialize reports and what every connection of one server shares."""

    codex_home: Path


@dataclass
class Connection:
    """Protocol state of one client connection. See the module docstring for the rules."""

    info: ServerInfo
    methods: Callable[[], MethodTable]
    """Loads the method table on first use: initialize is answered before handlers (and pydantic) load."""
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    client: init.InitializeParams | None = None
    in_flight: int = 0
    """Handlers running now (see `started`)."""
    _table: MethodTable | None = None
    _server_request_ids: Iterator[int] = field(default_factory=lambda: itertools.count(0))
    _awaiting_client: dict[RequestId, str] = field(default_factory=dict)

    @property
    def initialized(self) -> bool:
        return self.client is not None

    @property
    def experimental_api(self) -> bool:
        return self.client is not None and self.client.experimental_api

    @property
    def table(self) -> MethodTable:
        if self._table is None:
            self._table = self.methods()
        return self._table

    # -- incoming

    def receive(self, data: str | bytes) -> Inbound:
        """Decide what one incoming message means. Never raises, whatever the client sent."""
        try:
            message = decode(data)
        except UndecodableMessage as exc:
            return Ignored(str(exc))
        try:
            return self._receive(message)
        except Exception as exc:  # a bug of ours, never the client's fault: say where, drop the message
            return Ignored(f"failed to handle a message: {type(exc).__name__}: {exc}")

    def _receive(self, message: Any) -> Inbound:
        if not isinstance(message, dict):
            return Ignored(f"JSON-RPC message must be an object, got {type(message).__name__}")
        method = message.get("method")
        if isinstance(method, str):
            if "id" not in message or not _valid_id(message["id"]):
                return Ignored()  # a client notification (`initialized`, ...): nothing to do
            return self._request(message["id"], method, message.get("params"))
        if "id" in message and ("result" in message or "error" in message):
            return self._client_reply(message)
        return Ignored("JSON-RPC message is neither a request, a notification nor a response")

    def _request(self, request_id: RequestId, method: str, raw_params: JsonValue) -> Inbound:
        try:
            if method == "initialize":
                return Reply(wire_bytes(self._initialize(request_id, raw_params)))
            spec = self.table.get(method)
            if spec is None:
                raise self._unknown_method(method)
            params = spec.parse_params(raw_params)
            if not self.initialized:
                raise InvalidRequest("Not initialized")
            if spec.experimental and not self.experimental_api:
                raise InvalidRequest(f"{method} requires experimentalApi capability")
        except RpcError as exc:
            return Reply(wire_bytes(encode_error(request_id, exc)))
        except Exception as exc:  # a params parser's bug: the request is still answered, without a traceback
            return Reply(wire_bytes(encode_error(request_id, wire_error(exc))))
        if self.in_flight >= self.max_in_flight:
            return Reply(wire_bytes(encode_error(request_id, ServerOverloaded())))
        return Dispatch(request_id, spec, params)

    def _initialize(self, request_id: RequestId, raw_params: JsonValue) -> str:
        params = init.parse_initialize_params(raw_params)
        if self.client is not None:
            raise InvalidRequest("Already initialized")
        self.client = params
        return encode_result(request_id, init.initialize_result(params, self.info.codex_home))

    def _unknown_method(self, method: str) -> InvalidRequest:
        if method in UPSTREAM_CLIENT_METHODS:
            # Same code as upstream's answer to a request it cannot take, so clients branch the same way.
            return InvalidRequest(
                f"`{method}` exists in the upstream codex app-server protocol (0.163), "
                "but this compact server does not implement it"
            )
        expected = ", ".join(f"`{name}`" for name in ["initialize", *self.table.names()])
        return invalid_params(f"unknown variant `{method}`, expected one of {expected}")

    def _client_reply(self, message: dict[str, Any]) -> Inbound:
        request_id = message["id"]
        if not _valid_id(request_id) or request_id not in self._awaiting_client:
            return Ignored()  # stray response: upstream ignores these silently
        method = self._awaiting_client.pop(request_id)
        error = message.get("error")
        return ClientReply(request_id, method, message.get("result"), error if isinstance(error, dict) else None)

    # -- outgoing

    def started(self) -> None:
        """A dispatched request's handler began; `finish` ends it. Only requests being handled count toward
        max_in_flight, not those still waiting for the event loop to start them."""
        self.in_flight += 1

    def finish(self, request_id: RequestId, result: JsonValue = None, error: BaseException | None = None) -> bytes:
        """Encode the outcome of a dispatched request. Unexpected exceptions never leak their traceback; a
        result that cannot be encoded becomes an internal error for this request, so it is still answered."""
        self.in_flight -= 1
        try:
            if error is None and isinstance(result, RawJson):
                return encode_raw_result(request_id, result)
            if error is None:
                return wire_bytes(encode_result(request_id, {} if result is None else result))
            return wire_bytes(encode_error(request_id, wire_error(error)))
        except (ValueError, TypeError, RecursionError) as exc:
            failure = InternalError(f"internal error: the response could not be encoded ({type(exc).__name__})")
            return wire_bytes(encode_error(request_id, failure))

    def wants(self, method: str) -> bool:
        """False for notification methods this client opted out of at initialize."""
        return self.client is None or method not in self.client.opt_out_notification_methods

    def notification(self, method: str, params: JsonValue) -> bytes | None:
        """Encode a server notification, or None when the client opted out of this method.

        Raises ValueError or TypeError when it cannot be encoded; the caller logs and drops it."""
        if not self.wants(method):
            return None
        return wire_bytes(encode({"method": method, "params": params, "emittedAtMs": now_ms()}))

    def server_request(self, method: str, params: JsonValue) -> tuple[int, bytes]:
        """Allocate an id for a server->client request; its answer comes back as a ClientReply."""
        request_id = next(self._server_request_ids)
        self._awaiting_client[request_id] = method
        return request_id, wire_bytes(encode({"id": request_id, "method": method, "params": params}))

    def abandon_server_request(self, request_id: RequestId) -> None:
        """Forget a server->client request whose waiter gave up, so a late answer is ignored."""
        self._awaiting_client.pop(request_id, None)

    @property
    def awaiting_client(self) -> dict[RequestId, str]:
        """Server->client requests not answered yet (id -> method), for diagnostics."""
        return dict(self._awaiting_client)
