"""thread/*, turn/* handlers: validation and wiring; the behaviour lives in server.threads."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from server.config import effective_config
from server.config.reviewer import approvals_reviewer
from server.handlers.registry import method
from server.protocol.errors import InvalidRequest
from server.protocol.threads import (
    ThreadArchiveParams,
    ThreadForkParams,
    ThreadListParams,
    ThreadReadParams,
    ThreadResumeParams,
    ThreadSettingsParams,
    ThreadShellCommandParams,
    ThreadStartParams,
    TurnInterruptParams,
    TurnStartParams,
)
from server.session import ServerContext, Session
from server.threads import dynamic_tools, surface
from server.threads import fork as forking
from server.threads.engine import ModelTarget, TurnEngine
from server.threads.shell import Shell, choose_shell
from server.threads.store import Thread, ThreadSettings, ThreadStore

BYPASS_HOOK_TRUST_WARNING = (
    "`--dangerously-bypass-hook-trust` is enabled. Enabled hooks may run without review for this invocation."
)
DEFAULT_MODEL = "gpt-6.1-sol"
"""The model upstream 0.163 reports for a fresh thread with the default provider; used when none is set."""


def store(server: ServerContext) -> ThreadStore:
    return server.shared(ThreadStore, ThreadStore)


def engine(server: ServerContext) -> TurnEngine:
    return server.shared(lambda s: TurnEngine(s, store(s), lambda: model_target(s), lambda: shell(s)), TurnEngine)


def shell(server: ServerContext) -> Shell:
    """Read per command, so a config edit (e.g. pointing `zsh_path` at a new build) applies at once."""
    zsh_path = effective_config(server).get("zsh_path")
    return choose_shell(str(zsh_path) if zsh_path else None, server.environ)


def model_target(server: ServerContext) -> ModelTarget:
    """Where this turn's model request goes: openai_base_url with the API key, or the ChatGPT backend."""
    from server.auth.manager import auth_manager
    from server.config.base_urls import chatgpt_base_url, openai_base_url
    from server.model.responses import ResponsesClient

    config = effective_config(server)
    auth = auth_manager(server)
    current = auth.current()
    headers: dict[str, str] = {"originator": "codex_app_server"}
    token = auth.bearer_token()
    if token:
        headers["authorization"] = f"Bearer {token}"
    if current is not None and current.mode == "chatgpt":
        base = chatgpt_base_url(config).rstrip("/") + "/codex"
        if current.tokens is not None and current.tokens.account_id:
            headers["chatgpt-account-id"] = current.tokens.account_id
    else:
        base = openai_base_url(config, server.environ).url
    clients: dict[str, ResponsesClient] = server.shared(lambda s: {}, dict)
    if base not in clients:
        clients[base] = ResponsesClient(base)
    return ModelTarget(clients[base], headers)


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


def settings_from(session: Session, params: ThreadSettingsParams, base: ThreadSettings | None = None) -> ThreadSettings:
    config = effective_config(session.server)
    cwd = params.cwd or (base.cwd if base else os.getcwd())
    if not os.path.isabs(cwd):
        raise InvalidRequest(f"cwd must be an absolute path: {cwd}")
    return ThreadSettings(
        cwd=cwd,
        model=params.model or (base.model if base else str(config.get("model") or DEFAULT_MODEL)),
        model_provider=params.model_provider or (base.model_provider if base else "openai"),
        approval_policy=params.approval_policy
        or (base.approval_policy if base else config.get("approval_policy") or "on-request"),
        # The project layer of the thread's cwd counts for the reviewer (and the legacy alias in it).
        approvals_reviewer=approvals_reviewer(
            effective_config(session.server, Path(cwd)), thread=params.approvals_reviewer
        )
        if params.approvals_reviewer or base is None
        else base.approvals_reviewer,
        sandbox=params.sandbox
        if isinstance(params.sandbox, dict)
        else (base.sandbox if base else ThreadSettings("", "").sandbox),
        dynamic_tools=list(base.dynamic_tools) if base else [],
        service_tier=surface.service_tier(params.service_tier)
        if "service_tier" in params.model_fields_set
        else (base.service_tier if base else None),
    )


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
    settings = settings_from(session, params)
    settings.dynamic_tools = dynamic_tools.to_wire(dynamic_tools.parse_dynamic_tools(params.dynamic_tools))
    settings.bypass_hook_trust = bool((params.config or {}).get("bypass_hook_trust"))
    thread = await asyncio.to_thread(
        store(session.server).create,
        settings,
        source=session_source(session),
        originator=originator(session),
        thread_source=params.thread_source,
    )
    follow(session, thread)
    response = thread_response(thread, include_turns=False)
    session.notify("thread/started", {"thread": response["thread"]})
    if settings.bypass_hook_trust:
        session.notify("warning", {"threadId": thread.id, "message": BYPASS_HOOK_TRUST_WARNING})
    return response


@method("thread/resume", ThreadResumeParams)
async def thread_resume(session: Session, params: ThreadResumeParams) -> dict[str, Any]:
    thread = store(session.server).get(params.thread_id)
    if thread.meta.get("parentThreadId"):
        raise InvalidRequest(f"resuming a sub-agent thread is not supported: {params.thread_id}")
    follow(session, thread)
    return thread_response(thread, include_turns=not params.exclude_turns)


@method("thread/read", ThreadReadParams)
async def thread_read(session: Session, params: ThreadReadParams) -> dict[str, Any]:
    thread = store(session.server).get(params.thread_id)
    return {"thread": thread.wire(include_turns=params.include_turns)}


@method("thread/list", ThreadListParams)
async def thread_list(session: Session, params: ThreadListParams) -> dict[str, Any]:
    threads, next_cursor = await asyncio.to_thread(
        store(session.server).list,
        source_kinds=params.source_kinds,
        cursor=params.cursor,
        limit=params.limit,
        archived=bool(params.archived),
    )
    return {"data": [thread.wire() for thread in threads], "nextCursor": next_cursor, "backwardsCursor": None}


@method("thread/archive", ThreadArchiveParams)
async def thread_archive(session: Session, params: ThreadArchiveParams) -> dict[str, Any]:
    threads = store(session.server)
    thread = threads.get(params.thread_id)
    if thread.active is not None:
        raise InvalidRequest(f"thread {params.thread_id} has an active turn; interrupt it before archiving")
    await asyncio.to_thread(threads.archive, params.thread_id)
    session.notify("thread/archived", {"threadId": params.thread_id})
    return {}


@method("thread/fork", ThreadForkParams)
async def thread_fork(session: Session, params: ThreadForkParams) -> dict[str, Any]:
    if params.ephemeral and not params.exclude_turns:
        raise InvalidRequest("ephemeral paginated thread/fork requires `excludeTurns: true`")
    threads = store(session.server)
    source = threads.get(params.thread_id)
    snap = forking.snapshot(
        source,
        mode="interrupted" if source.active is not None else "committed",
        last_turn_id=params.last_turn_id,
        before_turn_id=params.before_turn_id,
    )
    settings = settings_from(session, params, base=source.settings)
    fork = threads.create(
        settings,
        source=session_source(session),
        originator=originator(session),
        thread_source=params.thread_source,
        forked_from=source.id,
    )
    for turn in snap.turns:
        fork.add_turn(turn)
        fork.end_turn(
            turn["id"],
            status=turn["status"],
            error=turn.get("error"),
            completed_at=turn.get("completedAt"),
            duration_ms=turn.get("durationMs"),
        )
    for entry in snap.history:
        fork.remember(entry["turnId"], entry["item"])
    if snap.turns:
        fork.update_meta(preview=source.meta.get("preview", ""))
    follow(session, fork)
    response = thread_response(fork, include_turns=not params.exclude_turns)
    session.notify("thread/started", {"thread": {**response["thread"], "turns": []}})
    return response


@method("turn/start", TurnStartParams)
async def turn_start(session: Session, params: TurnStartParams) -> dict[str, Any]:
    thread = store(session.server).get(params.thread_id)
    follow(session, thread)
    if params.approval_policy is not None:
        thread.settings.approval_policy = params.approval_policy
    turn = engine(session.server).start(thread, session, [part.text for part in params.input])
    return {"turn": turn}


@method("turn/interrupt", TurnInterruptParams)
async def turn_interrupt(session: Session, params: TurnInterruptParams) -> dict[str, Any]:
    thread = store(session.server).get(params.thread_id)
    await engine(session.server).interrupt(thread, params.turn_id)
    return {}


@method("thread/shellCommand", ThreadShellCommandParams)
async def thread_shell_command(session: Session, params: ThreadShellCommandParams) -> dict[str, Any]:
    if not params.command.strip():
        raise InvalidRequest("command must not be empty")
    try:
        thread = store(session.server).get(params.thread_id)
    except InvalidRequest:
        raise InvalidRequest(f"invalid thread id: {params.thread_id}") from None
    follow(session, thread)
    engine(session.server).start_shell(thread, params.command, params.timeout_ms)
    return {}
