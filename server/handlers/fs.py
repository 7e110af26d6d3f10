"""fs/* handlers: thin adapters from wire models to the filesystem domain (server.fs).

Filesystem calls run in worker threads, together with the base64 work on their payloads, so a slow disk
or a 20 MB file never stalls other requests or notifications on the connection. The exceptions are calls
the size of a stat (getMetadata, resolving a watch) and reads up to 1 MiB, where the thread hops would cost
more than the work.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from server.fs import encoding, files
from server.handlers.registry import method
from server.protocol.errors import InvalidRequest, os_error
from server.protocol.fs import (
    FsCopyParams,
    FsCreateDirectoryParams,
    FsGetMetadataParams,
    FsGetMetadataResponse,
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


@contextmanager
def _upstream_errors() -> Iterator[None]:
    """Domain refusals become -32600 with their message; OS errors -32603 worded like upstream's."""
    try:
        yield
    except files.FsRequestError as exc:
        raise InvalidRequest(str(exc)) from None
    except OSError as exc:
        raise os_error(exc) from None


async def _run(function: Callable[[], T]) -> T:
    """Run a blocking filesystem call off the event loop, translating failures to upstream's errors."""
    with _upstream_errors():
        return await asyncio.to_thread(function)


@method("fs/readFile", FsReadFileParams)
async def read_file(session: Session, params: FsReadFileParams) -> RawJson:
    """Result shape {"dataBase64": "..."}, built as text: base64 needs no JSON escaping, and letting
    json.dumps rescan megabytes of it was the largest cost of a big read."""

    def read() -> RawJson:
        return RawJson('{"dataBase64":"' + encoding.encode(files.read_file(params.path)) + '"}')

    with _upstream_errors():
        if os.stat(params.path).st_size <= INLINE_READ_BYTES:
            return read()
    return await _run(read)


@method("fs/writeFile", FsWriteFileParams)
async def write_file(session: Session, params: FsWriteFileParams) -> None:
    """The payload is decoded before anything touches the disk, so invalid base64 writes nothing."""

    def decode_and_write() -> None:
        try:
            data = encoding.decode(params.data_base64)
        except encoding.Base64Error as exc:
            raise files.FsRequestError(f"fs/writeFile requires valid base64 dataBase64: {exc}") from None
        files.write_file(params.path, data)

    await _run(decode_and_write)


@method("fs/createDirectory", FsCreateDirectoryParams)
async def create_directory(session: Session, params: FsCreateDirectoryParams) -> None:
    recursive = params.recursive is not False
    await _run(lambda: files.create_directory(params.path, recursive=recursive))


@method("fs/getMetadata", FsGetMetadataParams)
async def get_metadata(session: Session, params: FsGetMetadataParams) -> FsGetMetadataResponse:
    """Follows symlinks for the kind and times; isSymlink comes from lstat. createdAtMs is 0 like upstream.

    Runs on the event loop: it is two stat calls (microseconds), while a hop to a worker thread costs
    150-300 us on a busy 2-core machine, more than upstream's whole round trip. Clients poll metadata
    often; the price is that a stat stuck on a dead network mount would stall this connection.
    """
    with _upstream_errors():
        info = files.metadata(params.path)
    return FsGetMetadataResponse(
        is_directory=info.is_directory,
        is_file=info.is_file,
        is_symlink=info.is_symlink,
        created_at_ms=0,
        modified_at_ms=info.modified_at_ms,
    )


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
