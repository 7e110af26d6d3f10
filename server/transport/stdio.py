"""stdio transport: one JSON message per line on stdin/stdout.

Start-up is two-phase. Until the client is initialized we read and answer synchronously with plain
`os.read`/`os.write` and only the json module loaded, so `initialize` is answered in a few milliseconds of
Python start-up instead of after importing asyncio and pydantic. Then the asyncio runner takes over the same
`Connection` and whatever bytes were already read. Reads and writes run in worker threads because stdin and
stdout may be pipes, terminals or regular files, and only threads handle all three the same way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from server.rpc import Connection, Ignored, Reply

if TYPE_CHECKING:
    from server.session import ServerContext

READ_SIZE = 1 << 16
STDIN, STDOUT = 0, 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class LineReader:
    """Splits a byte stream into lines, keeping the unfinished tail for the next read."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.eof = False

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if not chunk:
            self.eof = True
            if self.pending:
                line, self.pending = bytes(self.pending), bytearray()
                yield line
            return
        self.pending += chunk
        start = 0
        while (end := self.pending.find(b"\n", start)) >= 0:
            yield bytes(self.pending[start:end])
            start = end + 1
        del self.pending[:start]


def serve_until_initialized(connection: Connection, reader: LineReader) -> list[bytes]:
    """Phase one: answer synchronously until initialize succeeds or input ends.

    Returns the lines read after the one that initialized the connection; they belong to phase two.
    """
    while not reader.eof:
        lines = list(reader.feed(os.read(STDIN, READ_SIZE)))
        for index, line in enumerate(lines):
            event = connection.receive(line)
            if isinstance(event, Reply):
                _write_all(STDOUT, event.data.encode() + b"\n")
            elif isinstance(event, Ignored) and event.log:
                os.write(2, f"app-server: {event.log}\n".encode())
            if connection.initialized:
                return lines[index + 1 :]
    return []


async def serve(context: ServerContext, connection: Connection, reader: LineReader, backlog: list[bytes]) -> None:
    """Phase two: the asyncio runner over the same connection."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from server.runner import ConnectionRunner

    loop = asyncio.get_running_loop()
    read_thread = ThreadPoolExecutor(1, thread_name_prefix="stdin")
    write_thread = ThreadPoolExecutor(1, thread_name_prefix="stdout")

    async def incoming() -> AsyncIterator[bytes]:
        for line in backlog:
            yield line
        while not reader.eof:
            chunk = await loop.run_in_executor(read_thread, os.read, STDIN, READ_SIZE)
            for line in reader.feed(chunk):
                yield line

    async def send(batch: list[str]) -> None:
        data = ("\n".join(batch) + "\n").encode()
        await loop.run_in_executor(write_thread, _write_all, STDOUT, data)

    runner = ConnectionRunner(context, connection, send)
    try:
        await runner.run(incoming())
    finally:
        write_thread.shutdown(wait=True)
        read_thread.shutdown(wait=False, cancel_futures=True)
