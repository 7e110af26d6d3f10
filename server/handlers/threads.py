"""thread/*, turn/* handlers: validation and response shapes; the behaviour lives in server.threads.

thread/list and thread/read live in server.handlers.thread_reads, which loads no pydantic."""

from __future__ import annotations

from typing import Any

from server.config import deprecations, effective_config
from server.handlers.registry import method
from server.protocol.threads import (
    ThreadArchiveParams,
    ThreadForkParams,
    ThreadResumeParams,
    ThreadShellCommandParams,
    ThreadStartParams,
    TurnInterruptParams,
    TurnStartParams,
)
from server.session import Session
from server.threads.service import thread_service
from server.threads.thread import Thread

BYPASS_HOOK_TRUST_WARNING = (
    "`--dangerously-bypass-hook-trust` is enabled. Enabled hooks may run without review for this invocation."
)


class Subscriptions:
    """The threads a connection follows; it stops receiving their notifications when it closes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.threads: set[Thread] = set()

    def follow(self, thread: Thread) -> None:
        thread.subscribers.add(self.session)
        self.threads.add(thread)

    async def aclose(self) -> None:
        for thread in self.threads:
            thread.subscribers.discard(self.session)


def follow(session: Session, thread: Thread) -> None:
    session.scoped(Subscriptions, Subscriptions).follow(thread)


def thread_response(thread: Thread, *, include_turns: bool) -> dict[str, Any]:
    """The shape thread/start, thread/resume and thread/fork share."""
    settings = thread.settings
    return {
        "thread": thread.wire(include_turns=include_turns),
        "model": settings.model,
        "modelProvider": settings.model_provider,
        "serviceTier": settings.service_tier,
        "cwd": settings.cwd,
        "instructionSources": [],
        "approvalPolicy": settings.approval_policy,
        "approvalsReviewer": settings.approvals_reviewer,
        "sandbox": settings.sandbox,
        "reasoningEffort": None,
    }


def session_source(session: Session) -> Any:
    custom = session.server.options.session_source
    return {"custom": custom} if custom else "vscode"


def originator(session: Session) -> str:
    client = session.connection.client
    return client.client_info.name if client is not None else "unknown"


@method("thread/start", ThreadStartParams)
async def thread_start(session: Session, params: ThreadStartParams) -> dict[str, Any]:
    service = thread_service(session.server)
    bypass_hook_trust = bool((params.config or {}).get("bypass_hook_trust"))
    thread = await service.start(
        service.settings(params),
        raw_dynamic_tools=params.dynamic_tools,
        bypass_hook_trust=bypass_hook_trust,
        source=session_source(session),
        originator=originator(session),
        thread_source=params.thread_source,
    )
    follow(session, thread)
    response = thread_response(thread, include_turns=False)
    session.notify("thread/started", {"thread": response["thread"]})
    if bypass_hook_trust:
        session.notify("warning", {"threadId": thread.id, "message": BYPASS_HOOK_TRUST_WARNING})
    announce_deprecations(session)
    return response


def announce_deprecations(session: Session) -> None:
    """A thread went live: one deprecationNotice per deprecated feature flag the config sets."""
    for notice in deprecations.notices(effective_config(session.server)):
        session.notify("deprecationNotice", notice)


@method("thread/resume", ThreadResumeParams)
async def thread_resume(session: Session, params: ThreadResumeParams) -> dict[str, Any]:
    thread = thread_service(session.server).resumable(params.thread_id)
    live = bool(thread.subscribers) or thread.active is not None
    follow(session, thread)
    if not params.exclude_turns:
        session.notify("deprecationNotice", deprecations.HYDRATION_NOTICE)
    if not live:
        announce_deprecations(session)
    return thread_response(thread, include_turns=not params.exclude_turns)


@method("thread/archive", ThreadArchiveParams)
async def thread_archive(session: Session, params: ThreadArchiveParams) -> dict[str, Any]:
    await thread_service(session.server).archive(params.thread_id)
    session.notify("thread/archived", {"threadId": params.thread_id})
    return {}


@method("thread/fork", ThreadForkParams)
async def thread_fork(session: Session, params: ThreadForkParams) -> dict[str, Any]:
    fork = thread_service(session.server).fork(params, source=session_source(session), originator=originator(session))
    follow(session, fork)
    response = thread_response(fork, include_turns=not params.exclude_turns)
    if not params.exclude_turns:
        session.notify("deprecationNotice", deprecations.HYDRATION_NOTICE)
    announce_deprecations(session)
    session.notify("thread/started", {"thread": {**response["thread"], "turns": []}})
    return response


@method("turn/start", TurnStartParams)
async def turn_start(session: Session, params: TurnStartParams) -> dict[str, Any]:
    service = thread_service(session.server)
    thread = service.get(params.thread_id)
    follow(session, thread)
    turn = service.start_turn(thread, [part.text for part in params.input], session, params.approval_policy)
    return {"turn": turn}


@method("turn/interrupt", TurnInterruptParams)
async def turn_interrupt(session: Session, params: TurnInterruptParams) -> dict[str, Any]:
    await thread_service(session.server).interrupt(params.thread_id, params.turn_id)
    return {}


@method("thread/shellCommand", ThreadShellCommandParams)
async def thread_shell_command(session: Session, params: ThreadShellCommandParams) -> dict[str, Any]:
    service = thread_service(session.server)
    thread = service.shell_thread(params.thread_id, params.command)
    follow(session, thread)
    service.shell_command(thread, params.command, params.timeout_ms, session)
    return {}
