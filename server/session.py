"""What a handler sees: the server it runs in and the connection it serves.

Handlers never see a transport. They notify, ask the client (server->client requests), and keep
per-connection domain state through `Session.scoped()`, which the connection closes when it ends, so a
disconnect releases watches, search sessions and login servers without each handler remembering to. A scoped
instance with an `input_ended()` method also hears, before requests still running get their grace period,
that the client will send nothing more (see `Session.input_ended`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from server.context import ServerContext as ServerContext
from server.context import ServerOptions as ServerOptions
from server.protocol.errors import RpcError
from server.rpc import Connection, JsonValue

T = TypeVar("T")


class Closeable(Protocol):
    async def aclose(self) -> None: ...


class Outbox(Protocol):
    """Where a session's messages go (the connection runner): it decides when they are written."""

    def send(self, data: bytes) -> None:
        """An encoded message that waits for nothing."""

    def notify(self, method: str, params: JsonValue) -> None:
        """A notification, written after the response of the request that caused it."""


class Unanswered(Exception):
    """Raised by a handler whose request must get no response at all: its client is gone and upstream writes
    nothing for it (a `command/exec` killed because the connection's input ended). The runner drops it."""


class ClientRequestError(RpcError):
    """The client answered a server->client request with an error object."""


class Session:
    """One connection as handlers see it."""

    def __init__(
        self,
        server: ServerContext,
        connection: Connection,
        outbox: Outbox,
    ) -> None:
        self.server = server
        self.connection = connection
        self._outbox = outbox
        self._scoped: dict[type[Any], Any] = {}
        self._waiting: dict[int | str, asyncio.Future[JsonValue]] = {}
        self.closed = False

    @property
    def experimental_api(self) -> bool:
        return self.connection.experimental_api

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (dropped silently if the client opted out or the connection is gone).

        Emitted while handling a request (or in a task the handler spawned), it is written after that
        request's response; the runner's module docstring says how."""
        if self.closed:
            return
        self._outbox.notify(method, params.to_wire() if hasattr(params, "to_wire") else params)

    async def request(self, method: str, params: Any, *, timeout: float | None = None) -> JsonValue:
        """Ask the client and wait for its answer; raises ClientRequestError if it answers with an error."""
        wire = params.to_wire() if hasattr(params, "to_wire") else params
        request_id, encoded = self.connection.server_request(method, wire)
        future: asyncio.Future[JsonValue] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self._outbox.send(encoded)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(request_id, None)
            self.connection.abandon_server_request(request_id)

    def resolve(self, request_id: int | str, result: JsonValue, error: dict[str, Any] | None) -> None:
        future = self._waiting.get(request_id)
        if future is None or future.done():
            return
        if error is not None:
            code = error.get("code")
            future.set_exception(
                ClientRequestError(str(error.get("message", "")), code=code if isinstance(code, int) else None)
            )
        else:
            future.set_result(result)

    def scoped(self, factory: Callable[[Session], T], key: type[T]) -> T:
        """One instance of `key` per connection; closed (`aclose()`) when the connection ends."""
        if key not in self._scoped:
            self._scoped[key] = factory(self)
        instance: T = self._scoped[key]
        return instance

    def peek_scoped(self, key: type[T]) -> T | None:
        """The connection's `key` instance if one was created, without creating it."""
        instance: T | None = self._scoped.get(key)
        return instance

    async def input_ended(self) -> None:
        """The client's input ended: tell every scoped instance that has an `input_ended()` method.

        Called before the runner lets running requests finish, so what must stop at once (upstream kills a
        connection's `command/exec` processes as soon as it goes away) does not wait for that grace."""
        for instance in reversed(list(self._scoped.values())):
            input_ended = getattr(instance, "input_ended", None)
            if input_ended is not None:
                await input_ended()

    async def close(self) -> None:
        """Release every per-connection resource and fail pending server->client requests."""
        self.closed = True
        for future in self._waiting.values():
            if not future.done():
                future.cancel()
        for instance in reversed(list(self._scoped.values())):
            aclose = getattr(instance, "aclose", None)
            if aclose is not None:
                await aclose()
        self._scoped.clear()
