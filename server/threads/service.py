"""The thread service: what the thread/*, turn/* and realtime handlers call.

It wires one server's store, turn engine and model clients together, resolves a thread's settings from
request, config and defaults, replays a fork, and runs the turn a realtime handoff asks for. Handlers
only validate, call one method here and shape the response.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.config import effective_config
from server.config.reviewer import approvals_reviewer
from server.protocol.errors import InvalidRequest
from server.protocol.threads import ThreadForkParams, ThreadSettingsParams
from server.threads import dynamic_tools, surface
from server.threads import fork as forking
from server.threads.engine import TurnEngine
from server.threads.shell import Shell, choose_shell
from server.threads.store import thread_store
from server.threads.thread import Follower, Thread, ThreadSettings
from server.threads.turn import ModelTarget, TurnServices, wait_until_idle

if TYPE_CHECKING:
    from server.context import ServerContext
    from server.model.responses import ResponsesClient

DEFAULT_MODEL = "gpt-6.1-sol"
"""The model upstream 0.163 reports for a fresh thread with the default provider; used when none is set."""


class ThreadService:
    """Threads and turns of one server."""

    def __init__(self, server: ServerContext) -> None:
        self.server = server
        self.store = thread_store(server)
        self.engine = TurnEngine(TurnServices(server, self.store, self.model_target, self.shell))
        self._clients: dict[str, ResponsesClient] = {}
        """One Responses client (and its connection pool) per base URL."""

    # ------------------------------------------------------------------ wiring

    def shell(self) -> Shell:
        """Read per command, so a config edit (e.g. pointing `zsh_path` at a new build) applies at once."""
        zsh_path = effective_config(self.server).get("zsh_path")
        return choose_shell(str(zsh_path) if zsh_path else None, self.server.environ)

    def model_target(self) -> ModelTarget:
        """Where this turn's model request goes: openai_base_url with the API key, or the ChatGPT backend."""
        from server.auth.manager import auth_manager
        from server.config.base_urls import chatgpt_base_url, openai_base_url
        from server.model.responses import ResponsesClient

        config = effective_config(self.server)
        auth = auth_manager(self.server)
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
            base = openai_base_url(config, self.server.environ).url
        if base not in self._clients:
            self._clients[base] = ResponsesClient(base)
        return ModelTarget(self._clients[base], headers)

    def settings(self, params: ThreadSettingsParams, base: ThreadSettings | None = None) -> ThreadSettings:
        """A thread's settings: the request's, else `base`'s (a fork's source), else config and defaults."""
        config = effective_config(self.server)
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
                effective_config(self.server, Path(cwd)), thread=params.approvals_reviewer
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

    # ------------------------------------------------------------------ threads

    async def start(
        self,
        settings: ThreadSettings,
        *,
        raw_dynamic_tools: list[Any] | None,
        bypass_hook_trust: bool,
        source: Any,
        originator: str,
        thread_source: str | None,
    ) -> Thread:
        settings.dynamic_tools = dynamic_tools.to_wire(dynamic_tools.parse_dynamic_tools(raw_dynamic_tools))
        settings.bypass_hook_trust = bypass_hook_trust
        return await asyncio.to_thread(
            self.store.create, settings, source=source, originator=originator, thread_source=thread_source
        )

    def get(self, thread_id: str) -> Thread:
        return self.store.get(thread_id)

    def resumable(self, thread_id: str) -> Thread:
        thread = self.store.get(thread_id)
        if thread.meta.get("parentThreadId"):
            raise InvalidRequest(f"resuming a sub-agent thread is not supported: {thread_id}")
        return thread

    async def archive(self, thread_id: str) -> None:
        thread = self.store.get(thread_id)
        if thread.active is not None:
            raise InvalidRequest(f"thread {thread_id} has an active turn; interrupt it before archiving")
        await asyncio.to_thread(self.store.archive, thread_id)

    def fork(self, params: ThreadForkParams, *, source: Any, originator: str) -> Thread:
        """A new thread holding a copy of the source thread's history (see server.threads.fork)."""
        if params.ephemeral and not params.exclude_turns:
            raise InvalidRequest("ephemeral paginated thread/fork requires `excludeTurns: true`")
        origin = self.store.get(params.thread_id)
        snap = forking.snapshot(
            origin,
            mode="interrupted" if origin.active is not None else "committed",
            last_turn_id=params.last_turn_id,
            before_turn_id=params.before_turn_id,
        )
        fork = self.store.create(
            self.settings(params, base=origin.settings),
            source=source,
            originator=originator,
            thread_source=params.thread_source,
            forked_from=origin.id,
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
            fork.update_meta(preview=origin.meta.get("preview", ""))
        return fork

    # ------------------------------------------------------------------ turns

    def start_turn(self, thread: Thread, texts: list[str], starter: Follower, approval_policy: Any = None) -> Any:
        if approval_policy is not None:
            thread.settings.approval_policy = approval_policy
        return self.engine.start(thread, texts, starter)

    async def interrupt(self, thread_id: str, turn_id: str) -> None:
        await self.engine.interrupt(self.store.get(thread_id), turn_id)

    def shell_thread(self, thread_id: str, command: str) -> Thread:
        """The thread a `thread/shellCommand` runs in, with upstream's errors for a bad request."""
        if not command.strip():
            raise InvalidRequest("command must not be empty")
        try:
            return self.store.get(thread_id)
        except InvalidRequest:
            raise InvalidRequest(f"invalid thread id: {thread_id}") from None

    def shell_command(self, thread: Thread, command: str, timeout_ms: int | None, starter: Follower) -> None:
        self.engine.start_shell(thread, command, timeout_ms, starter)

    def compaction_thread(self, thread_id: str) -> Thread:
        """The thread a `thread/compact/start` compacts, with upstream's error when there is none."""
        if thread_id not in self.store.loaded and self.store.find_path(thread_id) is None:
            raise InvalidRequest(f"thread not found: {thread_id}")
        return self.store.get(thread_id)

    # ------------------------------------------------------------------ realtime

    def realtime_thread(self, thread_id: str) -> Thread:
        """The thread a realtime session talks to, with upstream's error when there is none."""
        try:
            return self.store.get(thread_id)
        except InvalidRequest:
            raise InvalidRequest(f"thread not found: {thread_id}") from None

    async def handoff(self, thread: Thread, prompt: str, starter: Follower) -> str:
        """Run a normal turn for a realtime handoff (after any running one) and return the agent's reply."""
        await wait_until_idle(thread)
        turn = self.engine.start(thread, [prompt], starter)
        active = thread.active
        if active is not None and active.task is not None:
            await asyncio.shield(active.task)
        for stored in reversed(thread.turns):
            if stored["id"] == turn["id"]:
                replies = [item["text"] for item in stored["items"] if item.get("type") == "agentMessage"]
                return replies[-1] if replies else ""
        return ""


def thread_service(server: ServerContext) -> ThreadService:
    """The one thread service of `server`."""
    return server.shared(ThreadService, ThreadService)
