"""fs/watch and fs/unwatch: connection-scoped watches over server.fs.registry; changes go out as fs/changed."""

from __future__ import annotations

from server.fs.registry import WatchRegistry
from server.handlers.registry import method
from server.protocol.fs import FsUnwatchParams, FsWatchParams, FsWatchResponse
from server.session import Session


def _registry(session: Session) -> WatchRegistry:
    return session.scoped(lambda s: WatchRegistry(lambda change: s.notify("fs/changed", change)), WatchRegistry)


@method("fs/watch", FsWatchParams)
async def watch(session: Session, params: FsWatchParams) -> FsWatchResponse:
    """The path comes back normalized lexically, symlinks kept (what upstream returns, whatever its schema
    says about canonicalization); delivery starts before the response is sent."""
    await _registry(session).watch(params.watch_id, params.path)
    return FsWatchResponse(path=params.path)


@method("fs/unwatch", FsUnwatchParams)
async def unwatch(session: Session, params: FsUnwatchParams) -> None:
    """Unknown ids are fine (upstream answers {} too); nothing for this id is sent after the response."""
    registry = session.peek_scoped(WatchRegistry)
    if registry is not None:
        await registry.unwatch(params.watch_id)
