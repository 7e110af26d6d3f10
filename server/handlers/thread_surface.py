"""thread/* methods around the conversation (names, archive round trips, subscriptions, metadata, pages,
injected history): validation and wiring; the behaviour lives in server.threads.surface."""

from __future__ import annotations

import asyncio
from typing import Any

from server.handlers.registry import method
from server.handlers.threads import Subscriptions, follow
from server.protocol.errors import InvalidRequest
from server.protocol.threads import (
    ReviewStartParams,
    ThreadApproveGuardianDeniedActionParams,
    ThreadIdParams,
    ThreadInjectItemsParams,
    ThreadLoadedListParams,
    ThreadMetadataUpdateParams,
    ThreadSetNameParams,
    ThreadTurnsListParams,
    TurnSteerParams,
)
from server.session import Session
from server.threads import review, surface
from server.threads.service import thread_service
from server.threads.thread import Thread


def loaded_thread(session: Session, thread_id: str) -> Thread:
    surface.check_thread_id(thread_id)
    return thread_service(session.server).store.get(thread_id)


@method("thread/name/set", ThreadSetNameParams)
async def thread_name_set(session: Session, params: ThreadSetNameParams) -> dict[str, Any]:
    thread = loaded_thread(session, params.thread_id)
    surface.set_name(thread, params.name)
    note = {"threadId": thread.id, "threadName": params.name}
    thread.notify("thread/name/updated", note)
    if session not in thread.subscribers:
        session.notify("thread/name/updated", note)
    return {}


@method("thread/unarchive", ThreadIdParams)
async def thread_unarchive(session: Session, params: ThreadIdParams) -> dict[str, Any]:
    thread = await asyncio.to_thread(surface.unarchive, thread_service(session.server).store, params.thread_id)
    session.notify("thread/unarchived", {"threadId": thread.id})
    return {"thread": {**thread.wire(), "status": {"type": "notLoaded"}}}


@method("thread/loaded/list", ThreadLoadedListParams)
async def thread_loaded_list(session: Session, params: ThreadLoadedListParams) -> dict[str, Any]:
    ids, next_cursor = surface.page(list(thread_service(session.server).store.loaded), params.cursor, params.limit)
    return {"data": ids, "nextCursor": next_cursor}


@method("thread/unsubscribe", ThreadIdParams)
async def thread_unsubscribe(session: Session, params: ThreadIdParams) -> dict[str, Any]:
    surface.check_thread_id(params.thread_id)
    thread = thread_service(session.server).store.loaded.get(params.thread_id)
    if thread is None:
        return {"status": "notLoaded"}
    if session not in thread.subscribers:
        return {"status": "notSubscribed"}
    thread.subscribers.discard(session)
    session.scoped(Subscriptions, Subscriptions).threads.discard(thread)
    return {"status": "unsubscribed"}


@method("thread/metadata/update", ThreadMetadataUpdateParams)
async def thread_metadata_update(session: Session, params: ThreadMetadataUpdateParams) -> dict[str, Any]:
    thread = loaded_thread(session, params.thread_id)
    surface.update_metadata(thread, params.model_fields_set, params.git_info, params.project_id)
    return {"thread": thread.wire()}


@method("thread/turns/list", ThreadTurnsListParams)
async def thread_turns_list(session: Session, params: ThreadTurnsListParams) -> dict[str, Any]:
    thread = loaded_thread(session, params.thread_id)
    direction = params.sort_direction or "desc"
    return surface.turns_page(thread, params.cursor, params.limit, direction, params.items_view or "summary")


@method("thread/compact/start", ThreadIdParams)
async def thread_compact_start(session: Session, params: ThreadIdParams) -> dict[str, Any]:
    surface.check_thread_id(params.thread_id)
    service = thread_service(session.server)
    thread = service.compaction_thread(params.thread_id)
    follow(session, thread)
    service.engine.start_compaction(thread, session)
    return {}


@method("turn/steer", TurnSteerParams)
async def turn_steer(session: Session, params: TurnSteerParams) -> dict[str, Any]:
    thread = loaded_thread(session, params.thread_id)
    turn_id = thread_service(session.server).engine.steer(
        thread, params.expected_turn_id, [part.text for part in params.input]
    )
    return {"turnId": turn_id}


@method("review/start", ReviewStartParams)
async def review_start(session: Session, params: ReviewStartParams) -> dict[str, Any]:
    thread = loaded_thread(session, params.thread_id)
    if params.delivery == "detached":
        raise InvalidRequest("detached review delivery is not supported by this server; use inline delivery")
    hint, prompt = review.describe(params.target.model_dump())
    follow(session, thread)
    turn = thread_service(session.server).engine.start_review(thread, hint, prompt, session)
    return {"turn": turn, "reviewThreadId": thread.id}


@method("thread/inject_items", ThreadInjectItemsParams)
async def thread_inject_items(session: Session, params: ThreadInjectItemsParams) -> dict[str, Any]:
    thread = loaded_thread(session, params.thread_id)
    surface.inject(thread, params.items)
    return {}


@method("thread/approveGuardianDeniedAction", ThreadApproveGuardianDeniedActionParams)
async def thread_approve_guardian_denied_action(
    session: Session, params: ThreadApproveGuardianDeniedActionParams
) -> dict[str, Any]:
    surface.check_guardian_event(params.event)
    thread = loaded_thread(session, params.thread_id)
    surface.approve_denied_action(thread, params.event)
    return {}
