"""fs/* handlers: thin adapters from wire models to the filesystem domain (server.fs).

Filesystem calls run in worker threads, together with the base64 work on their payloads, so a slow disk
or a 20 MB file never stalls other requests or notifications on the connection. The exceptions are calls
the size of a stat (getMetadata, resolving a watch) and reads up to 1 MiB, where the thread hops would cost
more than the work.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TypeVar

from server.fs import encoding, files
from server.handlers.registry import method
from server.protocol.fs import (
    FsCopyParams,
    FsCreateDirectoryParams,
    FsReadDirectoryEntry,
    FsReadDirectoryParams,
    FsReadDirectoryResponse,
    FsReadFileParams,
    FsRemoveParams,
    FsWriteFileParams,
)
from server.rpc import RawJson
from server.session import Session

T = TypeVar("T")


INLINE_READ_BYTES = 1 << 20
"""fs/readFile of a file up to this size runs on the event loop: reading and encoding 1 MiB takes about a
millisecond, while the two thread hops of a worker-thread read cost several on a busy machine."""


async def _run(function: Callable[[], T]) -> T:
    """Run a blocking filesystem call off the event loop (its errors reach the rpc core as they are)."""
    return await asyncio.to_thread(function)


@method("fs/readFile", FsReadFileParams)
async def read_file(session: Session, params: FsReadFileParams) -> RawJson:
    """Result shape {"dataBase64": "..."}, built as raw JSON: base64 needs no JSON escaping, and letting
    json.dumps rescan megabytes of it was the largest cost of a big read."""

    def read() -> RawJson:
        return RawJson((b'{"dataBase64":"', encoding.encode(files.read_file(params.path)), b'"}'))

    if os.stat(params.path).st_size <= INLINE_READ_BYTES:
        return read()
    return await _run(read)


@method("fs/writeFile", FsWriteFileParams)
async def write_file(session: Session, params: FsWriteFileParams) -> None:
    """The payload is decoded before anything touches the disk, so invalid base64 writes nothing."""

    def decode_and_write() -> None:
        files.write_file(params.path, files.write_payload(params.data_base64))

    await _run(decode_and_write)


@method("fs/createDirectory", FsCreateDirectoryParams)
async def create_directory(session: Session, params: FsCreateDirectoryParams) -> None:
    recursive = params.recursive is not False
    await _run(lambda: files.create_directory(params.path, recursive=recursive))


@method("fs/readDirectory", FsReadDirectoryParams)
async def read_directory(session: Session, params: FsReadDirectoryParams) -> FsReadDirectoryResponse:
    entries = await _run(lambda: files.read_directory(params.path))
    return FsReadDirectoryResponse(
        entries=[
            FsReadDirectoryEntry(file_name=e.file_name, is_directory=e.is_directory, is_file=e.is_file) for e in entries
        ]
    )


@method("fs/remove", FsRemoveParams)
async def remove(session: Session, params: FsRemoveParams) -> None:
    recursive, force = params.recursive is not False, params.force is not False
    await _run(lambda: files.remove(params.path, recursive=recursive, force=force))


@method("fs/copy", FsCopyParams)
async def copy(session: Session, params: FsCopyParams) -> None:
    await _run(lambda: files.copy(params.source_path, params.destination_path, recursive=params.recursive))
