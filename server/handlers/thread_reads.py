"""thread/list and thread/read, in a module of their own: an editor lists threads as soon as it starts, and
this module, unlike server.handlers.threads, loads neither pydantic (params go through server.protocol.plain)
nor the turn engine and model client: both methods only need the store of rollouts
(server.threads.store), which the thread service shares.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from server.handlers.registry import method
from server.protocol.plain import is_bool, is_str, is_str_list, is_u32, or_null, plain_parser
from server.session import Session
from server.threads.store import thread_store


@dataclass(frozen=True, slots=True)
class ThreadListParams:
    cursor: str | None = None
    limit: int | None = None
    source_kinds: list[str] | None = None
    archived: bool | None = None


@dataclass(frozen=True, slots=True)
class ThreadReadParams:
    thread_id: str
    include_turns: bool = False


parse_list_params = plain_parser(
    "thread/list",
    ThreadListParams,
    "server.protocol.threads:ThreadListParams",
    {},
    {
        "cursor": or_null(is_str),
        "limit": or_null(is_u32),
        "sourceKinds": or_null(is_str_list),
        "archived": or_null(is_bool),
    },
)

parse_read_params = plain_parser(
    "thread/read",
    ThreadReadParams,
    "server.protocol.threads:ThreadReadParams",
    {"threadId": is_str},
    {"includeTurns": is_bool},
)


@method("thread/read", parse_read_params)
async def thread_read(session: Session, params: ThreadReadParams) -> dict[str, Any]:
    thread = thread_store(session.server).get(params.thread_id)
    return {"thread": thread.wire(include_turns=params.include_turns)}


@method("thread/list", parse_list_params)
async def thread_list(session: Session, params: ThreadListParams) -> dict[str, Any]:
    """Reads every rollout under the sessions directory, so it runs in a worker thread."""
    threads, next_cursor = await asyncio.to_thread(
        thread_store(session.server).list,
        source_kinds=params.source_kinds,
        cursor=params.cursor,
        limit=params.limit,
        archived=bool(params.archived),
    )
    return {"data": [thread.wire() for thread in threads], "nextCursor": next_cursor, "backwardsCursor": None}
