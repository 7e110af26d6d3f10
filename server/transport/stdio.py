"""stdio transport: one JSON message per line on stdin/stdout.

Start-up is two-phase. Until the client is initialized we read and answer synchronously with plain
`os.read`/`os.write` and only the json module loaded, so `initialize` is answered in a few milliseconds of
Python start-up instead of after importing asyncio and pydantic. Then the asyncio runner takes over the same
`Connection` and whatever bytes were already read. Reads and writes run in worker threads because stdin and
stdout may be pipes, terminals or regular files, and only threads handle all three the same way.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

from server.rpc import Connection, Ignored, Reply

if TYPE_CHECKING:
    import asyncio

    from server.session import ServerContext

READ_SIZE = 1 << 16
WRITE_CHUNK_BYTES = 1 << 20
"""Handed to the pipe transport at a time: what the pipe does not take at once is copied into the
transport's buffer, and for a 27 MB fs/readFile response that copy (fresh memory, page faults) cost as
much as encoding it. A chunk at a time keeps that buffer small and reused."""
FLUSH_TIMEOUT_SECONDS = 10.0
"""At exit, how long we wait for a client to read the last responses before giving up on them."""
STDIN, STDOUT = 0, 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class LineReader:
    """Splits a byte stream into lines, keeping the unfinished tail for the next read.

    The tail is kept as a list of chunks and joined once its line ends: scanning or growing one buffer
    per chunk made a 27 MB line (a 20 MiB fs/writeFile) cost a quarter of a second.
    """

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.eof = False

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if not chunk:
            self.eof = True
            if self.pending:
                line, self.pending = b"".join(self.pending), []
                yield line
            return
        end = chunk.find(b"\n")
        if end < 0:
            self.pending.append(chunk)
            return
        self.pending.append(chunk[:end])
        line, self.pending = b"".join(self.pending), []
        yield line
        start = end + 1
        while (end := chunk.find(b"\n", start)) >= 0:
            yield chunk[start:end]
            start = end + 1
        if start < len(chunk):
            self.pending.append(chunk[start:])


def serve_until_initialized(connection: Connection, reader: LineReader) -> list[bytes]:
    """Phase one: answer synchronously until initialize succeeds or input ends.

    Returns the lines read after the one that initialized the connection; they belong to phase two.
    """
    while not reader.eof:
        lines = list(reader.feed(os.read(STDIN, READ_SIZE)))
        for index, line in enumerate(lines):
            event = connection.receive(line)
            if isinstance(event, Reply):
                _write_all(STDOUT, event.data + b"\n")
            elif isinstance(event, Ignored) and event.log:
                os.write(2, f"app-server: {event.log}\n".encode())
            if connection.initialized:
                return lines[index + 1 :]
    return []


READ_AHEAD_BYTES = 1 << 20
"""Input read ahead while the server loads, at most: enough for the first requests, whatever the client."""


class ReadAhead:
    """Between the phases: reads the client's next lines in a thread while asyncio and the handlers load
    (60-70 ms on 2 cores), and shows each to `glance`, which may start work that needs no event loop (a
    first search's walk, in server.search.helper's other process). The lines join the backlog; what the
    thread did not read stays in stdin for phase two. The thread ends once `glance` returns True (it has
    seen what it looks for), at end of input, past READ_AHEAD_BYTES, or at `stop()`, which wakes it through
    a pipe of its own.
    """

    def __init__(
        self, reader: LineReader, backlog: list[bytes], glance: Callable[[bytes], bool], source: int = STDIN
    ) -> None:
        self._source = source
        self._reader = reader
        self._backlog = backlog
        self._glance = glance
        self._wake_read, self._wake = os.pipe()
        self._thread = threading.Thread(target=self._run, name="stdin-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import select

        poller = select.poll()
        poller.register(self._source, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        read = 0
        while not self._reader.eof and read < READ_AHEAD_BYTES:
            if any(fd == self._wake_read for fd, _ in poller.poll()):
                return
            chunk = os.read(self._source, READ_SIZE)
            read += len(chunk)
            lines = list(self._reader.feed(chunk))  # the whole chunk: what follows a line is input too
            self._backlog.extend(lines)
            if any([self._glance(line) for line in lines]):
                return

    def stop(self) -> None:
        os.write(self._wake, b"\0")
        self._thread.join()
        os.close(self._wake)
        os.close(self._wake_read)


def _pollable(fd: int) -> bool:
    """Pipes, sockets and terminals work with the event loop; regular files (`< requests.jsonl`) do not."""
    import stat

    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


PIPE_BYTES = 1 << 20
"""Capacity asked for a stdout pipe (Linux's default unprivileged maximum, /proc/sys/fs/pipe-max-size).
With the default 64 KiB a 1.4 MB fs/readFile response takes some twenty wake-ups of the event loop,
each waiting for the client to drain the pipe; with 1 MiB it takes two."""


def _widen_pipe(fd: int) -> None:
    """Best effort: not every system has F_SETPIPE_SZ, and a lowered limit refuses it."""
    import fcntl
    import stat

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None and stat.S_ISFIFO(os.fstat(fd).st_mode):
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, PIPE_BYTES)


class _ThreadedIO:
    """Blocking reads and writes in one worker thread each: works for any kind of file."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._reader = ThreadPoolExecutor(1, thread_name_prefix="stdin")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="stdout")

    async def read_chunk(self) -> bytes:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self._reader, os.read, STDIN, READ_SIZE)

    async def write(self, data: bytes) -> None:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(self._writer, _write_all, STDOUT, data)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=False, cancel_futures=True)


class _PipeIO:
    """stdin/stdout pipes driven by the event loop: no thread hop per message, most of a small request's cost."""

    def __init__(self, reader: asyncio.StreamReader | None, writer: asyncio.StreamWriter | None) -> None:
        self._fallback = _ThreadedIO()
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls) -> _PipeIO:
        import asyncio

        loop = asyncio.get_running_loop()
        reader = writer = None
        if _pollable(STDIN):
            reader = asyncio.StreamReader(limit=READ_SIZE)
            stdin = os.fdopen(STDIN, "rb", 0)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        if _pollable(STDOUT):
            _widen_pipe(STDOUT)
            stdout = os.fdopen(STDOUT, "wb", 0)
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
            writer = asyncio.StreamWriter(transport, protocol, None, loop)
        return cls(reader, writer)

    async def read_chunk(self) -> bytes:
        if self._reader is None:
            return await self._fallback.read_chunk()
        return await self._reader.read(READ_SIZE)

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            await self._fallback.write(data)
            return
        view = memoryview(data)
        for start in range(0, len(view), WRITE_CHUNK_BYTES):
            self._writer.write(view[start : start + WRITE_CHUNK_BYTES])
            await self._writer.drain()

    async def aclose(self) -> None:
        """Flush what the pipe transport still buffers, then close: `drain()` only waits for the buffer to
        drop below its high-water mark, so without this the tail of the last responses would be lost."""
        import asyncio

        if self._writer is not None:
            # With a high-water mark of 0, drain() returns only once the buffer is empty.
            self._writer.transport.set_write_buffer_limits(high=0)
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(self._writer.drain(), FLUSH_TIMEOUT_SECONDS)
            self._writer.close()
        self._fallback.close()


async def serve(
    context: ServerContext, connection: Connection, reader: LineReader, backlog: list[bytes], ahead: ReadAhead
) -> None:
    """Phase two: the asyncio runner over the same connection and the bytes already read (`ahead` stops
    reading them here, the runner loaded)."""
    from server.runner import ConnectionRunner

    ahead.stop()
    io = await _PipeIO.open()

    async def incoming() -> AsyncIterator[bytes]:
        for line in backlog:
            yield line
        while not reader.eof:
            for line in reader.feed(await io.read_chunk()):
                yield line

    async def send(batch: list[bytes]) -> None:
        await io.write(b"\n".join([*batch, b""]))  # one copy, not two: a batch may hold a 27 MB response

    try:
        await ConnectionRunner(context, connection, send).run(incoming())
    finally:
        await io.aclose()
