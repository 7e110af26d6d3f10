"""Ways to reach an app-server: a subprocess on stdio, or a websocket URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

STDERR_TAIL_LINES = 40
LINE_LIMIT = 64 * 1024 * 1024
"""Largest single message we accept from a server (fs/readFile of 20 MB is ~27 MB of base64)."""
EXIT_GRACE = 0.5
"""Seconds to wait, after stdout ends, for the exit status and the stderr tail. A dying server reports
within a second even if a grandchild keeps stderr open."""


class SubprocessTransport:
    """A server started as a child process, speaking one JSON message per line on stdio."""

    def __init__(self, process: asyncio.subprocess.Process, command: Sequence[str]) -> None:
        self.process = process
        self.command = list(command)
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.stderr_log: list[str] = []
        self._stderr_task = asyncio.create_task(self._collect_stderr())

    @classmethod
    async def start(
        cls, command: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> SubprocessTransport:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            limit=LINE_LIMIT,
        )
        return cls(process, command)

    async def _collect_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            text = line.decode(errors="replace").rstrip("\n")
            self._stderr.append(text)
            self.stderr_log.append(text)

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def receive(self) -> str | None:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            # End of stdout almost always means the process died: collect its status and its last words
            # (the stderr reader may be a few lines behind) before the client declares it gone.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), EXIT_GRACE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), EXIT_GRACE)
            return None
        return line.decode()

    def exit_description(self) -> str:
        code = self.process.returncode
        if code is None:
            return "closed its stdout"
        if code < 0:
            return f"was killed by signal {-code}"
        return f"exited with code {code}"

    def stderr_tail(self) -> list[str]:
        return list(self._stderr)

    async def close_stdin(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
            with contextlib.suppress(ConnectionError, BrokenPipeError):
                await self.process.stdin.wait_closed()

    async def close(self) -> None:
        """EOF first (a clean shutdown), then escalate: terminate, kill."""
        await self.close_stdin()
        for stop in (None, self.process.terminate, self.process.kill):
            if stop is not None and self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    stop()
            try:
                await asyncio.wait_for(self.process.wait(), 3.0)
                break
            except TimeoutError:
                continue
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._stderr_task, 2.0)

    @property
    def pid(self) -> int:
        return self.process.pid


class WebSocketTransport:
    """A connection to `ws://HOST:PORT`, optionally with a bearer token, one message per text frame."""

    def __init__(self, connection: object, url: str) -> None:
        self._connection = connection
        self.url = url
        self._close_reason = "closed the connection"

    @classmethod
    async def connect(
        cls, url: str, *, token: str | None = None, headers: Mapping[str, str] | None = None
    ) -> WebSocketTransport:
        from websockets.asyncio.client import connect

        extra = dict(headers or {})
        if token is not None:
            extra["Authorization"] = f"Bearer {token}"
        connection = await connect(url, additional_headers=extra, max_size=LINE_LIMIT, open_timeout=10)
        return cls(connection, url)

    async def send(self, line: str) -> None:
        await self._connection.send(line)  # type: ignore[attr-defined]

    async def receive(self) -> str | None:
        from websockets.exceptions import ConnectionClosed

        while True:
            try:
                frame = await self._connection.recv()  # type: ignore[attr-defined]
            except ConnectionClosed as exc:
                self._close_reason = f"closed the connection ({exc})"
                return None
            if isinstance(frame, str):
                return frame

    def exit_description(self) -> str:
        return self._close_reason

    def stderr_tail(self) -> list[str]:
        return []

    async def close(self) -> None:
        await self._connection.close()  # type: ignore[attr-defined]


def default_env(codex_home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a test server runs in: ours, with an isolated CODEX_HOME and no user config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CODEX_", "OPENAI_"))}
    env["CODEX_HOME"] = str(codex_home)
    env["HOME"] = str(codex_home.parent)
    if extra:
        env.update(extra)
    return env
