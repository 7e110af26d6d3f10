"""fs/* handlers: thin adapters from wire models to the filesystem domain (server.fs)."""

from __future__ import annotations

import asyncio
import os
import stat

from server.handlers.registry import method
from server.protocol.errors import os_error
from server.protocol.fs import FsGetMetadataParams, FsGetMetadataResponse
from server.session import Session


def _metadata(path: str) -> FsGetMetadataResponse:
    link = os.lstat(path)
    target = os.stat(path) if stat.S_ISLNK(link.st_mode) else link
    return FsGetMetadataResponse(
        is_directory=stat.S_ISDIR(target.st_mode),
        is_file=stat.S_ISREG(target.st_mode),
        is_symlink=stat.S_ISLNK(link.st_mode),
        created_at_ms=0,
        modified_at_ms=target.st_mtime_ns // 1_000_000,
    )


@method("fs/getMetadata", FsGetMetadataParams)
async def get_metadata(session: Session, params: FsGetMetadataParams) -> FsGetMetadataResponse:
    """Follows symlinks for the kind and times; isSymlink comes from lstat. createdAtMs is 0 like upstream."""
    try:
        return await asyncio.to_thread(_metadata, params.path)
    except OSError as exc:
        raise os_error(exc) from None
