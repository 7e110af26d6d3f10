"""One `command/exec` process: spawned without a sandbox, on pipes or a pty, output captured or streamed.

Limits follow upstream 0.163 as measured: each stream keeps at most `outputBytesCap` bytes (default 1 MiB),
whether captured for the response or streamed (the chunk that reaches the cap carries `capReached: true`,
later output is read and dropped); a run is killed after `timeoutMs` (default 10 s) and then reports exit
code 124, like coreutils' timeout(1); a killed process reports 128 + the signal number, as a shell does.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_OUTPUT_CAP = 1024 * 1024
DEFAULT_TIMEOUT_MS = 10_000
UNCAPPED_CEILING = 8 * 1024 * 1024
"""What `disableOutputCap` still delivers per stream. Upstream keeps everything; we bound it so that a client's
opt-out cannot exhaust memory, and so that one response stays well under what a connection may queue."""
IO_DRAIN_SECONDS = 2.0
"""After the process exits, how long its output is still read: a background child that inherited the pipes
can keep them open forever (upstream's IO_DRAIN_TIMEOUT_MS is 2 s)."""
TIMEOUT_EXIT_CODE = 124
READ_CHUNK = 64 * 1024

Stream = Literal["stdout", "stderr"]
OnOutput = Callable[[Stream, bytes, bool], None]
"""Called with (stream, chunk, cap_reached) for each chunk when output is streamed."""


@dataclass(frozen=True)
class ExecRequest:
    argv: list[str]
    cwd: Path | None
    env: dict[str, str]
    tty: bool
    stream_stdin: bool
    size: tuple[int, int] | None
    """(rows, cols) of the pty."""
    output_cap: int | None
    """Bytes kept per stream; None for `disableOutputCap`."""
    timeout_ms: int | None
    """None for `disableTimeout`."""


@dataclass
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


def merged_env(base: Mapping[str, str], overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """The server's environment with the request's overrides; a None value unsets the variable."""
    env = dict(base)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _take_controlling_terminal() -> None:
    """In the child, after setsid(): make the pty on stdin its controlling terminal, as a terminal emulator
    (and upstream's pty library) does, so `/dev/tty`, job control and SIGWINCH on resize work."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class _Capture:
    """One output stream's budget and (when not streamed) its captured bytes.

    As upstream counts it: each chunk keeps what still fits under the cap, the chunk that fills the cap
    (possibly empty, with a cap of 0) reports `cap_reached`, and nothing is delivered after it."""

    cap: int | None
    kept: bytearray = field(default_factory=bytearray)
    delivered: int = 0
    full: bool = False

    def take(self, chunk: bytes) -> tuple[bytes, bool] | None:
        """The part of `chunk` to deliver and whether it reached the cap; None once the cap was reached."""
        if self.full:
            return None
        limit = UNCAPPED_CEILING if self.cap is None else self.cap
        part = chunk[: max(0, limit - self.delivered)]
        self.delivered += len(part)
        self.full = self.delivered >= limit
        return part, self.full and self.cap is not None


class StdinClosed(Exception):
    """A write after stdin was closed."""


class _Child(asyncio.SubprocessProtocol):
    """The process as the event loop reports it: output from its pipes, their closing, its exit.

    Not `asyncio.subprocess.Process`, whose `wait()` also waits for the pipes to close: a background child
    that inherited them would hold the response until it exits, where upstream answers once the command
    itself exits (and its output has drained for a bounded time)."""

    def __init__(self, deliver: Callable[[Stream, bytes], None]) -> None:
        loop = asyncio.get_running_loop()
        self._deliver = deliver
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: dict[int, asyncio.Future[None]] = {1: loop.create_future(), 2: loop.create_future()}
        self._writable = asyncio.Event()
        self._writable.set()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        stream: Stream = "stdout" if fd == 1 else "stderr"
        for start in range(0, len(data), READ_CHUNK):
            self._deliver(stream, data[start : start + READ_CHUNK])

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        closed = self.pipes_closed.get(fd)
        if closed is not None and not closed.done():
            closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def drain(self) -> None:
        """Wait while the child's stdin buffer is over the transport's high-water mark."""
        await self._writable.wait()


class ExecProcess:
    """A running command. `wait()` returns its result once it exits and its output has drained."""

    def __init__(self, request: ExecRequest, on_output: OnOutput | None) -> None:
        self.request = request
        self._on_output = on_output
        self._captures: dict[Stream, _Capture] = {
            "stdout": _Capture(request.output_cap),
            "stderr": _Capture(request.output_cap),
        }
        self._transport: asyncio.SubprocessTransport | None = None
        self._child: _Child | None = None
        self._master: int | None = None
        self._stdin_closed = not (request.stream_stdin or request.tty)
        self._killed_by_timeout = False
        self._spawned = asyncio.Event()
        self.abandoned = False
        """Killed because nobody waits for it any more: its output and result go nowhere."""

    @property
    def accepts_stdin(self) -> bool:
        return self.request.stream_stdin or self.request.tty

    async def spawned(self) -> None:
        """Wait until `start()` has finished (either way): a follow-up that arrives during the spawn
        must act on the process, not on nothing."""
        await self._spawned.wait()

    async def start(self) -> None:
        """Spawn the process; raises OSError when it cannot start (no such program, bad cwd...), ValueError
        for an empty program name."""
        try:
            await self._spawn()
        finally:
            self._spawned.set()
        if self.abandoned:
            self.kill()  # abandoned while it was being spawned

    async def _spawn(self) -> None:
        request = self.request
        if not request.argv[0]:
            raise ValueError(f"missing program for {'PTY' if request.tty else 'pipe'} spawn")
        loop = asyncio.get_running_loop()
        child = _Child(self._deliver)
        options: dict[str, Any] = {
            "cwd": str(request.cwd) if request.cwd is not None else None,
            "env": request.env,
            "start_new_session": True,  # its own process group: kill() reaches everything it starts
        }
        if request.tty:
            if request.cwd is not None and not request.cwd.is_dir():
                # Measured: upstream's pty spawn ignores a working directory it cannot enter and runs the
                # command in the server's own (its pipe spawn fails instead, as ours does).
                options["cwd"] = None
            master, slave = os.openpty()
            try:
                rows, cols = request.size or (24, 80)
                _set_size(slave, rows, cols)
                self._transport, _ = await loop.subprocess_exec(
                    lambda: child,
                    *request.argv,
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    preexec_fn=_take_controlling_terminal,
                    **options,
                )
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            os.set_blocking(master, False)
            self._master = master
        else:
            self._transport, _ = await loop.subprocess_exec(
                lambda: child,
                *request.argv,
                stdin=subprocess.PIPE if request.stream_stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **options,
            )
        self._child = child

    def _deliver(self, stream: Stream, chunk: bytes) -> None:
        if self.abandoned:
            return
        capture = self._captures[stream]
        taken = capture.take(chunk)
        if taken is None:
            return  # past the cap: read and dropped, so the process never blocks on a full pipe
        part, cap_reached = taken
        if self._on_output is not None:
            self._on_output(stream, part, cap_reached)
        else:
            capture.kept += part

    async def _pump_pty(self, master: int) -> None:
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(master, readable.set)
        try:
            while True:
                await readable.wait()
                readable.clear()
                try:
                    chunk = os.read(master, READ_CHUNK)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    if exc.errno == errno.EIO:  # every slave end closed: the process and its children are gone
                        return
                    raise
                if not chunk:
                    return
                self._deliver("stdout", chunk)
        finally:
            loop.remove_reader(master)

    async def wait(self) -> ExecResult:
        transport, child = self._transport, self._child
        if transport is None or child is None:
            raise RuntimeError("wait() before a successful start()")
        output: list[asyncio.Future[None]] = (
            [asyncio.ensure_future(self._pump_pty(self._master))]
            if self._master is not None
            else list(child.pipes_closed.values())
        )
        timeout = None if self.request.timeout_ms is None else self.request.timeout_ms / 1000
        try:
            try:
                await asyncio.wait_for(asyncio.shield(child.exited), timeout)
            except TimeoutError:
                self._killed_by_timeout = True
                self.kill()
                await child.exited
            await asyncio.wait(output, timeout=IO_DRAIN_SECONDS)
        except BaseException:
            self.kill()  # abandoned (the connection is closing): the process must not outlive its request
            raise
        finally:
            for pending in output:
                pending.cancel()
            transport.close()
            if self._master is not None:
                os.close(self._master)
                self._master = None
        code = transport.get_returncode()
        code = -1 if code is None else code
        exit_code = TIMEOUT_EXIT_CODE if self._killed_by_timeout else (128 - code if code < 0 else code)
        return ExecResult(exit_code, bytes(self._captures["stdout"].kept), bytes(self._captures["stderr"].kept))

    async def write(self, data: bytes, *, close: bool) -> None:
        """Write to stdin (the pty in tty mode), then close it when asked; StdinClosed if it was closed."""
        stdin = self._transport.get_pipe_transport(0) if self._transport is not None else None
        if data:
            if self._stdin_closed:
                raise StdinClosed("stdin is already closed")
            if self._master is not None:
                await _write_fd(self._master, data)
            elif isinstance(stdin, asyncio.WriteTransport) and not stdin.is_closing() and self._child is not None:
                stdin.write(data)
                await self._child.drain()
        if close and not self._stdin_closed:
            self._stdin_closed = True
            if self._master is not None:
                # A pty has no half-close. Like upstream's pty library when it drops its writer: end the
                # line, then the terminal's end-of-file character, so a reading program sees EOF.
                eof = termios.tcgetattr(self._master)[6][termios.VEOF]
                await _write_fd(self._master, b"\n" + (eof if isinstance(eof, bytes) else bytes([eof])))
            elif stdin is not None:
                stdin.close()

    def resize(self, rows: int, cols: int) -> None:
        if self._master is None:
            raise ValueError("process is not attached to a PTY")
        _set_size(self._master, rows, cols)  # the kernel signals SIGWINCH to the terminal's foreground group

    def abandon(self) -> None:
        """Kill the process for a client that went away: nothing it prints afterwards is delivered."""
        self.abandoned = True
        self.kill()

    def kill(self) -> None:
        """SIGKILL the whole process group (the command and anything it started)."""
        transport = self._transport
        if transport is None or transport.get_returncode() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(transport.get_pid(), signal.SIGKILL)


async def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await asyncio.sleep(0.01)
            continue
        view = view[written:]
