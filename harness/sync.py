"""Blocking facade over `harness.client.AsyncClient`, for plain pytest tests.

One daemon thread runs an event loop for the whole process; every client lives on it and each blocking call
submits the async method and waits. There is one implementation of the protocol logic (the async core);
this module only changes how you call it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from harness.client import (
    DEFAULT_TIMEOUT,
    AsyncClient,
    Chaos,
    Notification,
    Predicate,
    Responder,
    ServerRequest,
)
from harness.transports import SubprocessTransport, WebSocketTransport

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
CALL_MARGIN = 30.0
"""Extra seconds a blocking call waits beyond the async call's own timeout before declaring the loop stuck."""


def background_loop() -> asyncio.AbstractEventLoop:
    """The process-wide loop every sync client runs on (started on first use)."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="harness-loop", daemon=True).start()
        return _loop


def run(coro: Coroutine[Any, Any, T], timeout: float = DEFAULT_TIMEOUT) -> T:
    return asyncio.run_coroutine_threadsafe(coro, background_loop()).result(timeout + CALL_MARGIN)


class ServerRequestHandle:
    """Blocking view of a ServerRequest."""

    def __init__(self, request: ServerRequest) -> None:
        self.request = request
        self.id = request.id
        self.method = request.method
        self.params = request.params

    def respond(self, result: Any) -> None:
        run(self.request.respond(result))

    def fail(self, code: int, message: str) -> None:
        run(self.request.fail(code, message))


class Client:
    """A connected app-server client with blocking methods mirroring AsyncClient's."""

    def __init__(self, inner: AsyncClient, *, codex_home: Path | None = None) -> None:
        self.inner = inner
        self.codex_home = codex_home
        self.init_result: dict[str, Any] | None = None

    @classmethod
    def spawn(
        cls,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        chaos: Chaos | None = None,
        codex_home: Path | None = None,
    ) -> Client:
        async def start() -> AsyncClient:
            transport = await SubprocessTransport.start(command, env=env, cwd=cwd)
            return AsyncClient(transport, chaos=chaos, name=Path(command[0]).name)

        return cls(run(start()), codex_home=codex_home)

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        chaos: Chaos | None = None,
    ) -> Client:
        async def start() -> AsyncClient:
            transport = await WebSocketTransport.connect(url, token=token, headers=headers)
            return AsyncClient(transport, chaos=chaos, name=url)

        return cls(run(start()))

    # requests
    def request(self, method: str, params: Any = None, *, timeout: float = DEFAULT_TIMEOUT) -> Any:
        return run(self.inner.request(method, params, timeout=timeout), timeout)

    def notify(self, method: str, params: Any = None) -> None:
        run(self.inner.notify(method, params))

    def send_raw(self, line: str) -> None:
        """Write one raw message (for malformed-input tests)."""
        run(self.inner.transport.send(line))

    def initialize(
        self,
        *,
        name: str = "harness",
        version: str = "0.0.0",
        experimental_api: bool = False,
        opt_out: Sequence[str] = (),
    ) -> dict[str, Any]:
        self.init_result = run(
            self.inner.initialize(name=name, version=version, experimental_api=experimental_api, opt_out=opt_out)
        )
        return self.init_result

    # notifications
    def wait_for(
        self, method: str, *, where: Predicate | None = None, timeout: float = DEFAULT_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        return run(self.inner.wait_for(method, where=where, timeout=timeout, **fields), timeout)

    def wait_for_notification(
        self, method: str, *, where: Predicate | None = None, timeout: float = DEFAULT_TIMEOUT, **fields: Any
    ) -> Notification:
        return run(self.inner.wait_for_notification(method, where=where, timeout=timeout, **fields), timeout)

    def assert_no(self, method: str, *, within: float = 0.5, where: Predicate | None = None, **fields: Any) -> None:
        run(self.inner.assert_no(method, within=within, where=where, **fields), within)

    def buffered(self, method: str | None = None) -> list[Notification]:
        return run(_call(self.inner.buffered, method))

    def drain(self, method: str | None = None) -> list[Notification]:
        return run(_call(self.inner.drain, method))

    # server -> client requests
    def respond_to(self, method: str, responder: Responder | Any) -> None:
        run(_call(self.inner.respond_to, method, responder))

    def wait_for_server_request(self, method: str, *, timeout: float = DEFAULT_TIMEOUT) -> ServerRequestHandle:
        return ServerRequestHandle(run(self.inner.wait_for_server_request(method, timeout=timeout), timeout))

    # lifecycle
    @property
    def stderr(self) -> list[str]:
        """Everything the server wrote on stderr so far (subprocess servers only)."""
        transport = self.inner.transport
        return list(transport.stderr_log) if isinstance(transport, SubprocessTransport) else []

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        transport = self.inner.transport
        return transport.process if isinstance(transport, SubprocessTransport) else None

    def close_stdin(self) -> None:
        transport = self.inner.transport
        if isinstance(transport, SubprocessTransport):
            run(transport.close_stdin())

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        process = self.process
        if process is None:
            raise TypeError("not a subprocess server")
        return run(asyncio.wait_for(process.wait(), timeout), timeout)

    def close(self) -> None:
        run(self.inner.close())


async def _call(function: Any, *args: Any) -> Any:
    """Run a plain method of a loop-owned object on the loop thread (its state is not thread-safe)."""
    return function(*args)
