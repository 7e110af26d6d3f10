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
"""

from __future__ import annotations

import itertools
import json
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

    data: str


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
    """Compact JSON, UTF-8 kept as is; the transport adds framing."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class RawJson(str):
    """A result that is already JSON text, spliced into the response as is.

    For large payloads that need no escaping (fs/readFile's base64): json.dumps would scan and copy every
    byte of them again, which costs more than producing them. The producer vouches for the text.
    """


def encode_result(request_id: RequestId, result: JsonValue) -> str:
    if isinstance(result, RawJson):
        return f'{{"id":{json.dumps(request_id, ensure_ascii=False)},"result":{result}}}'
    return encode({"id": request_id, "result": result})


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
        """Decide what one incoming message means. Never raises for bad input."""
        try:
            message = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            return Ignored(f"failed to decode JSON-RPC message: {exc}")
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
                return Reply(self._initialize(request_id, raw_params))
            spec = self.table.get(method)
            if spec is None:
                raise self._unknown_method(method)
            params = spec.parse_params(raw_params)
            if not self.initialized:
                raise InvalidRequest("Not initialized")
            if spec.experimental and not self.experimental_api:
                raise InvalidRequest(f"{method} requires experimentalApi capability")
        except RpcError as exc:
            return Reply(encode_error(request_id, exc))
        if self.in_flight >= self.max_in_flight:
            return Reply(encode_error(request_id, ServerOverloaded()))
        self.in_flight += 1
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

    def finish(self, request_id: RequestId, result: JsonValue = None, error: BaseException | None = None) -> str:
        """Encode the outcome of a dispatched request. Unexpected exceptions never leak their traceback."""
        self.in_flight -= 1
        if error is None:
            return encode_result(request_id, {} if result is None else result)
        if not isinstance(error, RpcError):
            error = InternalError(f"internal error: {type(error).__name__}")
        return encode_error(request_id, error)

    def wants(self, method: str) -> bool:
        """False for notification methods this client opted out of at initialize."""
        return self.client is None or method not in self.client.opt_out_notification_methods

    def notification(self, method: str, params: JsonValue) -> str | None:
        """Encode a server notification, or None when the client opted out of this method."""
        if not self.wants(method):
            return None
        return encode({"method": method, "params": params, "emittedAtMs": now_ms()})

    def server_request(self, method: str, params: JsonValue) -> tuple[int, str]:
        """Allocate an id for a server->client request; its answer comes back as a ClientReply."""
        request_id = next(self._server_request_ids)
        self._awaiting_client[request_id] = method
        return request_id, encode({"id": request_id, "method": method, "params": params})

    def abandon_server_request(self, request_id: RequestId) -> None:
        """Forget a server->client request whose waiter gave up, so a late answer is ignored."""
        self._awaiting_client.pop(request_id, None)

    @property
    def awaiting_client(self) -> dict[RequestId, str]:
        """Server->client requests not answered yet (id -> method), for diagnostics."""
        return dict(self._awaiting_client)
