"""The approval bridge between the patched zsh's exec wrapper and the app-server.

A command that runs under the patched zsh gets `EXEC_WRAPPER` pointing at `exec_wrapper.py` and
`CODEX_EXEC_BRIDGE_SOCKET` pointing at a unix socket this bridge listens on. Each external program the
shell is about to exec (including every stage of a pipeline and every command a nested patched zsh runs)
becomes one connection: the exec's cwd, path and argv in, run or deny (with a reason) out; the byte format
is in exec_wrapper's docstring. Who decides is the caller's `decide` function; the bridge only moves
requests. Connections are served concurrently, so a pipeline's approvals can be asked side by side.

The socket lives in a fresh 0700 directory, so only this user can reach it, and the directory goes when the
command ends. Anything an approved non-zsh program starts itself (say `bash -c ...`) bypasses the wrapper:
the bridge sees what the patched shell execs, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from server.threads.exec_wrapper import DENY, RUN, SOCKET_ENV

MAX_REQUEST_BYTES = 1024 * 1024
"""An exec's argv and path; Linux caps argv plus environment at a few MiB, argv alone is far smaller."""
WRAPPER_SOURCE = Path(__file__).with_name("exec_wrapper.py")


@dataclass(frozen=True)
class ExecRequest:
    """One exec the shell wants to make."""

    path: str
    """The resolved program path zsh would execve."""
    argv: list[str]
    cwd: str

    @property
    def display(self) -> str:
        """The command as a user would type it (argv0 first, as the shell was asked)."""
        return shlex.join(self.argv)


@dataclass(frozen=True)
class ExecDecision:
    run: bool
    message: str = ""

    def wire(self) -> bytes:
        return RUN if self.run else DENY + b"\0" + self.message.encode()


Decide = Callable[[ExecRequest], Awaitable[ExecDecision]]


class ExecBridge:
    """A listening bridge for one command; `async with` it around the command's lifetime."""

    def __init__(self, decide: Decide) -> None:
        self._decide = decide
        self._dir: Path | None = None
        self._env: dict[str, str] = {}
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ExecBridge:
        self._dir = Path(tempfile.mkdtemp(prefix="codex-exec-"))  # mode 0700 by contract
        wrapper, socket = self._dir / "exec-wrapper", self._dir / "bridge.sock"
        # A two-line trampoline rather than a `#!python` line: shebangs are length-limited and take one
        # argument, and -I -S keep the user's PYTHONPATH and site-packages out of every exec.
        wrapper.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S {shlex.quote(str(WRAPPER_SOURCE))} "$@"\n'
        )
        wrapper.chmod(0o700)
        self._server = await asyncio.start_unix_server(self._serve, path=str(socket))
        self._env = {"EXEC_WRAPPER": str(wrapper), SOCKET_ENV: str(socket)}
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """What the shell's environment needs for every exec to come through this bridge."""
        assert self._env, "the bridge is not open"
        return dict(self._env)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            decision = await self._answer(reader)
            writer.write(decision.wire())
            await writer.drain()
        except ConnectionError:
            pass  # the wrapper went away (its command was killed): nothing to answer
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> ExecDecision:
        raw = b""
        while len(raw) <= MAX_REQUEST_BYTES and (chunk := await reader.read(64 * 1024)):
            raw += chunk
        fields = [os.fsdecode(field) for field in raw.split(b"\0")]
        if len(raw) > MAX_REQUEST_BYTES or len(fields) < 3:
            return ExecDecision(False, "the exec wrapper sent a malformed request")
        cwd, path, *argv = fields
        return await self._decide(ExecRequest(path, argv, cwd))
