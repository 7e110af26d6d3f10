"""fuzzyFileSearch and its experimental sessions: thin adapters over server.search."""

from __future__ import annotations

import asyncio
from typing import Any

from server.handlers.registry import method
from server.protocol import search_wire
from server.protocol.errors import InternalError, InvalidRequest
from server.protocol.search_wire import (
    FuzzyFileSearchParams,
    SessionStartParams,
    SessionStopParams,
    SessionUpdateParams,
)
from server.search.index import IndexCache
from server.search.matcher import Match
from server.search.oneshot import CancellationTokens, run_cancellable, search_once
from server.search.sessions import SearchSessions
from server.session import ServerContext, Session

UPDATED = "fuzzyFileSearch/sessionUpdated"
COMPLETED = "fuzzyFileSearch/sessionCompleted"


def _cache(server: ServerContext) -> IndexCache:
    return IndexCache()


def _sessions(session: Session) -> SearchSessions:
    def notify(session_id: str, kind: str, query: str, files: list[Match] | None) -> None:
        if kind == "completed":
            session.notify(COMPLETED, search_wire.session_completed(session_id))
        else:
            session.notify(UPDATED, search_wire.session_updated(session_id, query, files or []))

    return SearchSessions(session.server.shared(_cache, IndexCache), notify)


@method("fuzzyFileSearch", search_wire.parse_search)
async def fuzzy_file_search(session: Session, params: FuzzyFileSearchParams) -> dict[str, Any]:
    """Relative, missing and non-directory roots contribute nothing, and an empty query finds nothing."""
    cache = session.server.shared(_cache, IndexCache)
    token = params.cancellation_token
    if token is None:
        matches = await asyncio.to_thread(search_once, cache, params.roots, params.query)
        return {"files": search_wire.results(matches)}
    tokens = session.scoped(CancellationTokens, CancellationTokens)
    cancelled = tokens.claim(token)
    try:
        matches = await run_cancellable(cache, params.roots, params.query, cancelled)
    finally:
        tokens.release(token, cancelled)
    return {"files": search_wire.results(matches)}


@method("fuzzyFileSearch/sessionStart", search_wire.parse_session_start, experimental=True)
async def session_start(session: Session, params: SessionStartParams) -> None:
    if not params.roots:
        raise InternalError("failed to start fuzzy file search session: at least one search directory is required")
    await session.scoped(_sessions, SearchSessions).start(params.session_id, params.roots)


@method("fuzzyFileSearch/sessionUpdate", search_wire.parse_session_update, experimental=True)
async def session_update(session: Session, params: SessionUpdateParams) -> None:
    found = session.scoped(_sessions, SearchSessions).get(params.session_id)
    if found is None:
        raise InvalidRequest(f"fuzzy file search session not found: {params.session_id}")
    found.update(params.query)


@method("fuzzyFileSearch/sessionStop", search_wire.parse_session_stop, experimental=True)
async def session_stop(session: Session, params: SessionStopParams) -> None:
    """Unknown or already stopped ids are fine, as upstream."""
    await session.scoped(_sessions, SearchSessions).stop(params.session_id)
