"""Blocking facade over `codex_app_harness.client.AsyncClient`, for plain pytest tests.

One daemon thread runs an event loop for the whole process; every client lives on it and each blocking call
submits the async method and waits. There is one implementation of the protocol logic (the async core);
this module only changes how you call it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from codex_app_harness.chaos import Chaos
from codex_app_harness.client import (
    DEFAULT_TIMEOUT,
    AsyncClient,
    HarnessError,
    Notification,
    Responder,
    ServerRequest,
)
from codex_app_harness.matching import Predicate
from codex_app_harness.transcript import Transcript
from codex_app_harness.transports import SubprocessTransport

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_loop_thread: threading.Thread | None = None
_loop_lock = threading.Lock()
CALL_MARGIN = 30.0
"""Extra seconds a blocking call waits beyond the async call's own timeout before declaring the loop stuck."""


def background_loop() -> asyncio.AbstractEventLoop:
    """The process-wide loop every sync client runs on (started on first use)."""
    global _loop, _loop_thread
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            _loop_thread = threading.Thread(target=_loop.run_forever, name="harness-loop", daemon=True)
            _loop_thread.start()
        return _loop


def run(coro: Coroutine[Any, Any, T], timeout: float = DEFAULT_TIMEOUT) -> T:
    """Run `coro` on the harness loop and block until it finishes (the async core enforces `timeout`)."""
    loop = background_loop()
    if threading.current_thread() is _loop_thread:
        coro.close()
        raise HarnessError(
            "a blocking harness call was made on the harness loop itself (e.g. from a respond_to callable): "
            "it would deadlock; use an async responder with the AsyncClient methods instead"
        )
    __tracebackhide__ = True  # a failing test's traceback ends at the test's own line
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(timeout + CALL_MARGIN)
    except HarnessError as exc:
        # The frames are the loop thread's and the futures machinery's; the message carries the diagnosis.
        raise exc.with_traceback(None)  # noqa: B904 - re-raising the same exception, not a new one
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise HarnessError(f"the harness loop did not finish a call within {timeout + CALL_MARGIN:g}s") from None
    except BaseException:
        future.cancel()  # Ctrl-C or a pytest timeout: do not leave the wait running on the loop
        raise


class ServerRequestHandle:
    """Blocking view of a ServerRequest."""

    def __init__(self, request: ServerRequest) -> None:
        self.request = request
        self.id = request.id
        self.method = request.method
        self.params = request.params

    def respond(self, result: Any) -> None:
        run(self.request.respond(result))

    def fail(self, code: int, message: str, data: Any = None) -> None:
        run(self.request.fail(code, message, data))


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
        transcript: Transcript | None = None,
    ) -> Client:
        """Start a stdio app-server as a child process and connect to it."""
        inner = run(AsyncClient.spawn(command, env=env, cwd=cwd, chaos=chaos, transcript=transcript))
        return cls(inner, codex_home=codex_home)

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        chaos: Chaos | None = None,
        transcript: Transcript | None = None,
    ) -> Client:
        """Connect to a websocket app-server (`ws://127.0.0.1:PORT`), optionally with a bearer token."""
        return cls(run(AsyncClient.connect(url, token=token, headers=headers, chaos=chaos, transcript=transcript)))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # requests
    def request(self, method: str, params: Any = None, *, timeout: float = DEFAULT_TIMEOUT) -> Any:
        __tracebackhide__ = True
        return run(self.inner.request(method, params, timeout=timeout), timeout)

    def notify(self, method: str, params: Any = None) -> None:
        __tracebackhide__ = True
        run(self.inner.notify(method, params))

    def send_raw(self, line: str) -> None:
        """Write one raw line (for malformed-input tests); see `wait_for_response` for the answer."""
        __tracebackhide__ = True
        run(self.inner.send_raw(line))

    def wait_for_response(self, request_id: int | str | None, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        __tracebackhide__ = True
        return run(self.inner.wait_for_response(request_id, timeout=timeout), timeout)

    def initialize(
        self,
        *,
        name: str = "harness",
        version: str = "0.0.0",
        experimental_api: bool = False,
        opt_out: Sequence[str] = (),
    ) -> dict[str, Any]:
        __tracebackhide__ = True
        self.init_result = run(
            self.inner.initialize(name=name, version=version, experimental_api=experimental_api, opt_out=opt_out)
        )
        return self.init_result

    # notifications
    def wait_for(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        where: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **fields: Any,
    ) -> dict[str, Any]:
        """The params of the first notification matching `match`/fields/`where` (see AsyncClient.wait_for)."""
        __tracebackhide__ = True
        return run(self.inner.wait_for(method, match, where=where, timeout=timeout, **fields), timeout)

    def wait_for_notification(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        where: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **fields: Any,
    ) -> Notification:
        __tracebackhide__ = True
        return run(self.inner.wait_for_notification(method, match, where=where, timeout=timeout, **fields), timeout)

    def assert_no(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        within: float = 0.5,
        where: Predicate | None = None,
        **fields: Any,
    ) -> None:
        __tracebackhide__ = True
        run(self.inner.assert_no(method, match, within=within, where=where, **fields), within)

    def settle(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Every notification read so far is in the buffer when this returns (see AsyncClient.settle)."""
        __tracebackhide__ = True
        run(self.inner.settle(timeout=timeout), timeout)

    def buffered(self, method: str | None = None) -> list[Notification]:
        __tracebackhide__ = True
        return run(_call(self.inner.buffered, method))

    def drain(self, method: str | None = None) -> list[Notification]:
        __tracebackhide__ = True
        return run(_call(self.inner.drain, method))

    # server -> client requests
    def respond_to(self, method: str, responder: Responder | Any) -> None:
        """Responders run on the harness loop: plain functions or coroutines, never blocking harness calls."""
        __tracebackhide__ = True
        run(_call(self.inner.respond_to, method, responder))

    def wait_for_server_request(
        self,
        method: str,
        match: Mapping[str, Any] | None = None,
        *,
        where: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **fields: Any,
    ) -> ServerRequestHandle:
        __tracebackhide__ = True
        request = run(
            self.inner.wait_for_server_request(method, match, where=where, timeout=timeout, **fields), timeout
        )
        return ServerRequestHandle(request)

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
        __tracebackhide__ = True
        return run(asyncio.wait_for(process.wait(), timeout), timeout)

    def close(self) -> None:
        __tracebackhide__ = True
        run(self.inner.close())


def close_all(clients: Sequence[Client]) -> None:
    """Close clients concurrently: a server may take a second to exit, and a test may have started several."""

    async def close() -> None:
        await asyncio.gather(*(client.inner.close() for client in clients))

    run(close())


async def _call(function: Callable[..., T], *args: Any) -> T:
    """Run a plain method of a loop-owned object on the loop thread (its state is not thread-safe)."""
    return function(*args)
