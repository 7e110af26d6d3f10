"""Turns: from a user's input to streamed items, model calls, shell commands and a final status.

One `ActiveTurn` per thread at a time, run as an asyncio task so `turn/interrupt` is a cancellation. The
notification order per turn follows upstream (protocol notes, section 6): status active, turn/started,
the user message item, then per model output item its started/deltas/completed, token usage, status
idle, turn/completed. Everything the model must see on later turns is appended to the thread's model
history (and rollout) as it happens, so an interrupt or a fork leaves a history that replays correctly.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.config.reviewer import normalise
from server.protocol.errors import InvalidRequest
from server.threads import agents, exec_approval, guardian, hooks, prompts, rate_limits
from server.threads.collaboration import Collaboration
from server.threads.dynamic_tools import DynamicTool, model_output, parse_dynamic_tools
from server.threads.exec_bridge import ExecBridge, ExecDecision, ExecRequest
from server.threads.git import git_info
from server.threads.rollout import Json
from server.threads.shell import CommandResult, Shell, run_command
from server.threads.store import Thread, ThreadStore, uuid7
from server.threads.usage_limits import usage_limit_message

if TYPE_CHECKING:
    from server.model.responses import ModelError, ResponsesClient
    from server.session import ServerContext, Session

MAX_TOOL_ROUNDS = 32
"""Model round trips in one turn before we stop it: a model that calls tools forever must not spin."""
APPROVAL_REQUEST = "item/commandExecution/requestApproval"
DYNAMIC_TOOL_REQUEST = "item/tool/call"
MAX_STOP_CONTINUATIONS = 3
"""Times Stop hooks may send one turn back to the model; past this the turn ends (hooks loop otherwise)."""
APPROVED = frozenset({"accept", "acceptForSession"})
ESCALATION_REFUSED = (
    "approval policy is Never; reject command — "
    "you cannot ask for escalated permissions if the approval policy is Never"
)
"""upstream's answer to an escalation request nobody may approve: refused before any review or item."""


def read_state(thread: Thread) -> Json:
    """ThreadReadState: no client marks turns read here, so the first unread turn is the thread's first."""
    first = thread.turns[0]["id"] if thread.turns else None
    return {"firstUnread": {"type": "turn", "turnId": first} if first else None, "revision": str(uuid.uuid4())}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ActiveTurn:
    turn: Json
    task: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)
    user_items: list[Json] = field(default_factory=list)
    """The user message(s) of this turn, copied into a fork taken mid-turn."""
    steerable: bool = False
    """A model turn started by `turn/start`: `turn/steer` may add input to it."""
    steered: list[Json] = field(default_factory=list)
    """User messages from `turn/steer` not yet shown to the model."""
    steer_arrived: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class ModelTarget:
    """Where and how to call the model for one turn."""

    client: ResponsesClient
    headers: dict[str, str]


class TurnEngine:
    """Runs turns for every thread of one server."""

    def __init__(
        self,
        server: ServerContext,
        store: ThreadStore,
        target: Callable[[], ModelTarget],
        shell: Callable[[], Shell],
    ) -> None:
        self.server = server
        self.store = store
        self._target = target
        self._shell = shell
        self.collaboration = Collaboration(self)

    # ------------------------------------------------------------------ starting and stopping

    def start(self, thread: Thread, session: Session, text_inputs: list[str]) -> Json:
        """Begin a model turn; returns the turn's wire object at once (status inProgress)."""
        turn = self._begin(thread)
        user_item = {
            "type": "userMessage",
            "id": uuid7(),
            "clientId": None,
            "content": [{"type": "text", "text": text, "text_elements": []} for text in text_inputs],
        }
        active = ActiveTurn(turn, user_items=[user_item], steerable=True)
        thread.active = active
        active.task = asyncio.create_task(self._run_model_turn(thread, active, user_item, "\n".join(text_inputs)))
        return {**turn, "items": []}

    def start_shell(self, thread: Thread, command: str, timeout_ms: int | None) -> None:
        """A user-typed `!` command, run as its own turn without asking the model."""
        turn = self._begin(thread)
        active = ActiveTurn(turn)
        thread.active = active
        active.task = asyncio.create_task(self._run_shell_turn(thread, active, command, timeout_ms, self._shell()))

    def start_compaction(self, thread: Thread) -> None:
        """`thread/compact/start`: a turn of its own that replaces the model-visible history."""
        from server.threads import compaction

        turn = self._begin(thread)
        active = ActiveTurn(turn)
        thread.active = active
        active.task = asyncio.create_task(compaction.run(self, thread, active))

    def start_agent_turn(
        self, thread: Thread, message: Json, root_turn_id: str, on_done: Callable[[Thread, str], None]
    ) -> None:
        """A sub-agent's turn on a message from another agent; `on_done(thread, status)` runs when it ends."""
        turn = self._begin(thread, root_turn_id)
        active = ActiveTurn(turn)
        thread.active = active
        active.task = asyncio.create_task(self._run_agent_turn(thread, active, message, on_done))

    def _begin(self, thread: Thread, root_turn_id: str | None = None) -> Json:
        if thread.active is not None:
            raise InvalidRequest(f"thread {thread.id} already has an active turn")
        turn_id = uuid7()
        turn: Json = {
            "id": turn_id,
            "rootTurnId": root_turn_id or turn_id,
            "items": [],
            "itemsView": "notLoaded",
            "status": "inProgress",
            "error": None,
            "startedAt": None,
            "completedAt": None,
            "durationMs": None,
        }
        thread.add_turn(turn)
        return turn

    def steer(self, thread: Thread, expected_turn_id: str, text_inputs: list[str]) -> str:
        """Queue more user input for the turn in flight; the model request under way is cut short and sent
        again with it, as upstream does. Returns the turn's id."""
        if not text_inputs:
            raise InvalidRequest("input must not be empty")
        active = thread.active
        if active is None or not active.steerable:
            raise InvalidRequest("no active turn to steer")
        turn_id: str = active.turn["id"]
        if turn_id != expected_turn_id:
            raise InvalidRequest(f"expected active turn id `{expected_turn_id}` but found `{turn_id}`")
        item = {
            "type": "userMessage",
            "id": uuid7(),
            "clientId": None,
            "content": [{"type": "text", "text": text, "text_elements": []} for text in text_inputs],
        }
        active.steered.append(item)
        active.user_items.append(item)
        active.steer_arrived.set()
        return turn_id

    def _take_steered_input(self, thread: Thread, active: ActiveTurn) -> None:
        """Announce and remember input steered in since the last model request."""
        turn_id = active.turn["id"]
        active.steer_arrived.clear()
        while active.steered:
            item = active.steered.pop(0)
            self._item_started(thread, turn_id, item)
            self._item_completed(thread, turn_id, item)
            thread.remember(turn_id, prompts.message("user", "\n".join(part["text"] for part in item["content"])))

    async def _stream_round(
        self, target: ModelTarget, thread: Thread, active: ActiveTurn, stream: _StreamState, answered: list[Any]
    ) -> bool:
        """One model request, streamed into `stream`; False when steered input cut it short."""
        headers = {**target.headers, "session-id": thread.id, "thread-id": thread.id}

        async def consume() -> None:
            async for event in target.client.stream(
                self._request_body(thread), headers, on_retry=stream.on_retry, on_headers=answered.append
            ):
                stream.handle(event)

        consuming = asyncio.create_task(consume())
        steering = asyncio.create_task(active.steer_arrived.wait())
        try:
            done, _ = await asyncio.wait({consuming, steering}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (consuming, steering):
                if not task.done():
                    task.cancel()
            await asyncio.gather(consuming, steering, return_exceptions=True)
        if consuming in done:
            consuming.result()
            return True
        return False

    async def interrupt(self, thread: Thread, turn_id: str) -> None:
        active = thread.active
        if active is None or active.turn["id"] != turn_id or active.task is None:
            raise InvalidRequest("no active turn to interrupt")
        active.task.cancel()

    # ------------------------------------------------------------------ shared bookkeeping

    def _item_started(self, thread: Thread, turn_id: str, item: Json) -> None:
        thread.notify("item/started", {"item": item, "threadId": thread.id, "turnId": turn_id, "startedAtMs": now_ms()})

    def _item_completed(self, thread: Thread, turn_id: str, item: Json) -> None:
        thread.add_item(turn_id, item)
        thread.notify(
            "item/completed", {"item": item, "threadId": thread.id, "turnId": turn_id, "completedAtMs": now_ms()}
        )

    def _announce_start(self, thread: Thread, active: ActiveTurn) -> None:
        active.turn["startedAt"] = int(time.time())
        thread.turn(active.turn["id"])["startedAt"] = active.turn["startedAt"]
        thread.notify("thread/status/changed", {"threadId": thread.id, "status": thread.status()})
        thread.notify("turn/started", {"threadId": thread.id, "turn": {**active.turn, "items": []}})

    def _finish(self, thread: Thread, active: ActiveTurn, status: str, error: Json | None = None) -> None:
        turn_id = active.turn["id"]
        completed_at = int(time.time())
        duration_ms = int((time.monotonic() - active.started) * 1000)
        thread.end_turn(turn_id, status=status, error=error, completed_at=completed_at, duration_ms=duration_ms)
        stored = thread.turn(turn_id)
        thread.active = None
        now = int(time.time())
        thread.meta.update(updatedAt=now, recencyAt=now)
        thread.notify("thread/status/changed", {"threadId": thread.id, "status": thread.status()})
        items = [] if status == "interrupted" else list(stored["items"])
        thread.notify(
            "turn/completed",
            {
                "threadId": thread.id,
                "turn": {
                    **active.turn,
                    "items": items,
                    "itemsView": "summary" if items else "notLoaded",
                    "status": status,
                    "error": error,
                    "completedAt": completed_at,
                    "durationMs": duration_ms,
                },
            },
        )

    # ------------------------------------------------------------------ model turns

    async def _run_model_turn(self, thread: Thread, active: ActiveTurn, user_item: Json, text: str) -> None:
        turn_id = active.turn["id"]
        self._announce_start(thread, active)
        if not thread.session_hooks_ran:
            thread.session_hooks_ran = True
            await self._session_start_hooks(thread, turn_id)
        self._item_started(thread, turn_id, user_item)
        self._item_completed(thread, turn_id, user_item)
        if not thread.meta.get("preview"):
            thread.update_meta(preview=text[:200])
        thread.remember(turn_id, prompts.message("user", text))
        try:
            await self._model_rounds(thread, active)
        except asyncio.CancelledError:
            thread.remember(turn_id, prompts.turn_aborted())
            self._finish(thread, active, "interrupted")
            return
        except _TurnFailed as failure:
            thread.notify(
                "error", {"error": failure.error, "willRetry": False, "threadId": thread.id, "turnId": turn_id}
            )
            self._finish(thread, active, "failed", failure.error)
            return
        if thread.meta.get("gitInfo") is None:
            info = await git_info(thread.settings.cwd)
            if info is not None:
                thread.update_meta(gitInfo=info)
        thread.notify("thread/readState/changed", {"threadId": thread.id, "readState": read_state(thread)})
        self._finish(thread, active, "completed")

    async def _run_agent_turn(
        self, thread: Thread, active: ActiveTurn, message: Json, on_done: Callable[[Thread, str], None]
    ) -> None:
        turn_id = active.turn["id"]
        self._announce_start(thread, active)
        thread.remember(turn_id, message)
        status, error = "completed", None
        try:
            await self._model_rounds(thread, active)
        except asyncio.CancelledError:
            thread.remember(turn_id, prompts.turn_aborted())
            status = "interrupted"
        except _TurnFailed as failure:
            thread.notify(
                "error", {"error": failure.error, "willRetry": False, "threadId": thread.id, "turnId": turn_id}
            )
            status, error = "failed", failure.error
        self._finish(thread, active, status, error)
        on_done(thread, status)

    def _request_body(self, thread: Thread) -> Json:
        history = [entry["item"] for entry in thread.model_history]
        visible = [tool.spec() for tool in parse_dynamic_tools(thread.settings.dynamic_tools) if not tool.deferred]
        return {
            "model": thread.settings.model,
            "instructions": prompts.BASE_INSTRUCTIONS,
            "input": [prompts.environment_context(thread.settings.cwd), *history],
            "tools": [prompts.SHELL_TOOL, *visible, agents.TOOLS],
            "tool_choice": "auto",
            "parallel_tool_calls": False,
            "store": False,
            "stream": True,
            "prompt_cache_key": thread.id,
        }

    async def _model_rounds(self, thread: Thread, active: ActiveTurn) -> None:
        from server.model.responses import ModelError

        turn_id = active.turn["id"]
        target = self._target()
        continuations = 0
        for _ in range(MAX_TOOL_ROUNDS):
            for message in self.collaboration.registry.pending_mail(thread):
                thread.remember(turn_id, message)
            self._take_steered_input(thread, active)
            stream = _StreamState(self, thread, turn_id)
            answered: list[Mapping[str, str]] = []
            try:
                finished = await self._stream_round(target, thread, active, stream, answered)
            except ModelError as exc:
                if answered:
                    thread.notify("account/rateLimits/updated", {"rateLimits": rate_limits.snapshot(answered[-1])})
                raise _TurnFailed(_turn_error(exc)) from None
            if not finished:
                if answered:
                    thread.notify("account/rateLimits/updated", {"rateLimits": rate_limits.snapshot(answered[-1])})
                continue
            stream.commit()
            if stream.usage is not None:
                for key, value in stream.usage.items():
                    thread.usage_total[key] = thread.usage_total.get(key, 0) + value
                usage = {"total": dict(thread.usage_total), "last": stream.usage, "modelContextWindow": None}
                thread.notify(
                    "thread/tokenUsage/updated", {"threadId": thread.id, "turnId": turn_id, "tokenUsage": usage}
                )
            if answered:
                thread.notify("account/rateLimits/updated", {"rateLimits": rate_limits.snapshot(answered[-1])})
            if not stream.calls and active.steered:
                continue
            if not stream.calls:
                blocked = await self._stop_hooks(thread, turn_id, stream.last_text, continuations > 0)
                if not blocked or continuations >= MAX_STOP_CONTINUATIONS:
                    return
                continuations += 1
                self._continue_after_stop_hooks(thread, turn_id, blocked)
                continue
            for call in stream.calls:
                output = await self._run_tool_call(thread, active, call)
                thread.remember(turn_id, {"type": "function_call_output", "call_id": call["call_id"], "output": output})
        raise _TurnFailed(
            {
                "message": f"turn stopped after {MAX_TOOL_ROUNDS} model round trips",
                "codexErrorInfo": "other",
                "additionalDetails": None,
            }
        )

    # ------------------------------------------------------------------ hooks

    def _runnable_hooks(self, thread: Thread, event: str) -> list[hooks.Hook]:
        from server.config import effective_config

        config = effective_config(self.server)
        found = hooks.discover(self.server.codex_home, config, thread.settings.cwd)
        bypass = thread.settings.bypass_hook_trust
        return [
            hook
            for hook in found.hooks
            if hook.event == event and (bypass or hooks.trust_status(hook, config) == "trusted")
        ]

    async def _run_hooks(
        self, thread: Thread, turn_id: str, event: str, payload: Json, scope: str
    ) -> list[hooks.HookResult]:
        """Run every runnable hook of `event` in parallel, reporting each run's start and end."""
        selected = self._runnable_hooks(thread, event)
        started_at = int(time.time())
        for hook in selected:
            run = hooks.run_summary(hook, scope, "running", started_at)
            thread.notify("hook/started", {"threadId": thread.id, "turnId": turn_id, "run": run})
        results = await asyncio.gather(
            *(hooks.run(h, payload, cwd=thread.settings.cwd, codex_home=self.server.codex_home) for h in selected)
        )
        for result in results:
            run = hooks.run_summary(
                result.hook,
                scope,
                result.status,
                result.started_at,
                completed_at=int(time.time()),
                duration_ms=result.duration_ms,
                entries=result.entries,
            )
            thread.notify("hook/completed", {"threadId": thread.id, "turnId": turn_id, "run": run})
        return list(results)

    def _hook_payload(self, thread: Thread, event: str) -> Json:
        return {
            "session_id": thread.id,
            "transcript_path": thread.meta.get("path"),
            "cwd": thread.settings.cwd,
            "hook_event_name": event,
            "model": thread.settings.model,
            "permission_mode": "default",
        }

    async def _session_start_hooks(self, thread: Thread, turn_id: str) -> None:
        source = "resume" if len(thread.turns) > 1 else "startup"
        payload = {**self._hook_payload(thread, "SessionStart"), "source": source}
        for result in await self._run_hooks(thread, turn_id, "SessionStart", payload, "thread"):
            for entry in result.entries:
                if entry["kind"] == "context":
                    thread.remember(turn_id, prompts.message("developer", entry["text"]))

    async def _stop_hooks(
        self, thread: Thread, turn_id: str, last_message: str | None, active: bool
    ) -> list[hooks.HookResult]:
        payload = {
            **self._hook_payload(thread, "Stop"),
            "turn_id": turn_id,
            "stop_hook_active": active,
            "last_assistant_message": last_message,
        }
        results = await self._run_hooks(thread, turn_id, "Stop", payload, "turn")
        return [result for result in results if result.status == "blocked"]

    def _continue_after_stop_hooks(self, thread: Thread, turn_id: str, blocked: list[hooks.HookResult]) -> None:
        """Record the blocking reasons as a hookPrompt item and as one user message for the model."""
        ordered = sorted(blocked, key=lambda result: result.hook.display_order)
        item = {
            "type": "hookPrompt",
            "id": f"msg_{uuid7()}",
            "fragments": [{"text": r.block_reason or "", "hookRunId": r.hook.run_id} for r in ordered],
        }
        self._item_started(thread, turn_id, item)
        self._item_completed(thread, turn_id, item)
        thread.remember(turn_id, hooks.hook_prompt_message(ordered))

    async def _run_tool_call(self, thread: Thread, active: ActiveTurn, call: Json) -> Any:
        """Run one function call from the model; returns the function_call_output's `output`."""
        name = str(call.get("name", ""))
        if call.get("namespace") == agents.NAMESPACE:
            return await self.collaboration.call(thread, active, call)
        if name == "exec_command":
            return await self._exec_command(thread, active, call)
        if name != "shell":
            tools = parse_dynamic_tools(thread.settings.dynamic_tools)
            tool = next((t for t in tools if t.model_name == name), None) or next(
                (t for t in tools if t.name == name), None
            )
            if tool is None:
                return f"unsupported call: {name}"
            return await self._dynamic_call(thread, active, tool, call)
        try:
            arguments = json.loads(call.get("arguments") or "{}")
            argv = [str(part) for part in arguments["command"]]
            if not argv:
                raise ValueError("empty command")
        except (ValueError, KeyError, TypeError) as exc:
            return f"invalid shell arguments: {exc}"
        cwd = str(arguments.get("workdir") or thread.settings.cwd)
        timeout = arguments.get("timeout_ms")
        told, _ = await self._exec(
            thread, active, argv, shlex.join(argv), cwd, timeout if isinstance(timeout, int) else None, "agent"
        )
        return told

    async def _exec_command(self, thread: Thread, active: ActiveTurn, call: Json) -> str:
        """upstream's `exec_command` called as a plain function: a bash script, reviewed like upstream's."""
        try:
            arguments = json.loads(call.get("arguments") or "{}")
            script = str(arguments["cmd"])
        except (ValueError, KeyError, TypeError) as exc:
            return f"invalid exec_command arguments: {exc}"
        if arguments.get("sandbox_permissions") == "require_escalated" and thread.settings.approval_policy == "never":
            return ESCALATION_REFUSED
        shell = self._shell()
        # upstream runs these scripts with bash; the patched zsh takes over when configured, so that each
        # program the script starts is approved on its own instead of the script as a whole.
        argv = shell.argv(script) if shell.patched else ["/bin/bash", "-lc", script]
        cwd = str(arguments.get("workdir") or thread.settings.cwd)
        planned = {
            "tool": "exec_command",
            "command": argv,
            "cwd": cwd,
            "environment_id": "local",
            "justification": arguments.get("justification"),
            "sandbox_permissions": arguments.get("sandbox_permissions") or "use_default",
            "tty": bool(arguments.get("tty", False)),
        }
        told, _ = await self._exec(
            thread,
            active,
            argv,
            shlex.join(argv),
            cwd,
            None,
            "agent",
            item_id=call["call_id"],
            planned=planned,
            per_exec_approval=shell.patched,
        )
        return told

    async def _dynamic_call(self, thread: Thread, active: ActiveTurn, tool: DynamicTool, call: Json) -> Any:
        """Forward a call to the client (`item/tool/call`) and return what the model gets back."""
        turn_id = active.turn["id"]
        try:
            arguments = json.loads(call.get("arguments") or "{}")
        except ValueError:
            arguments = call.get("arguments")
        item: Json = {
            "type": "dynamicToolCall",
            "id": call["call_id"],
            "namespace": tool.namespace,
            "tool": tool.name,
            "arguments": arguments,
            "status": "inProgress",
            "contentItems": None,
            "success": None,
            "durationMs": None,
        }
        self._item_started(thread, turn_id, item)
        started = time.monotonic()
        params = {
            "threadId": thread.id,
            "turnId": turn_id,
            "callId": call["call_id"],
            "namespace": tool.namespace,
            "tool": tool.name,
            "arguments": arguments,
        }
        answer: Any
        try:
            answer = await thread.ask_client(DYNAMIC_TOOL_REQUEST, params)
        except LookupError:
            answer = None  # nobody to ask: model_output() reports an invalid response
        except Exception as exc:  # the client failed the call: the model is told, the turn goes on
            answer = {"contentItems": [{"type": "inputText", "text": f"tool call failed: {exc}"}], "success": False}
        output, success = model_output(answer)
        content = answer.get("contentItems") if isinstance(answer, dict) else None
        self._item_completed(
            thread,
            turn_id,
            {
                **item,
                "status": "completed" if success else "failed",
                "contentItems": content,
                "success": success,
                "durationMs": int((time.monotonic() - started) * 1000),
            },
        )
        return output

    async def _refusal(self, thread: Thread, active: ActiveTurn, item: Json, planned: Json) -> str | None:
        """Why the command must not run (told to the model), or None when it may run.

        `approval_policy` decides whether anyone is asked; `approvals_reviewer` decides who: the client, or
        the automatic reviewer (server.threads.guardian).
        """
        if thread.settings.approval_policy == "never":
            return None
        if _auto_reviewed(thread):
            return await self._auto_review(thread, active, item, planned)
        if _approves(await self._client_decision(thread, active, item)):
            return None
        return "The user declined to run this command."

    async def _auto_review(self, thread: Thread, active: ActiveTurn, item: Json, planned: Json) -> str | None:
        """Review by a reviewer model request, reported as item/autoApprovalReview/started|completed."""
        turn_id = active.turn["id"]
        source = "unifiedExec" if planned.get("tool") == "exec_command" else "shell"
        action = {"type": "command", "source": source, "command": item["command"], "cwd": item["cwd"]}
        review_id = str(uuid.uuid4())
        started_at = now_ms()
        common = {"threadId": thread.id, "turnId": turn_id, "startedAtMs": started_at, "reviewId": review_id}
        pending = {"status": "inProgress", "riskLevel": None, "userAuthorization": None, "rationale": None}
        thread.notify(
            "item/autoApprovalReview/started",
            {**common, "targetItemId": item["id"], "review": pending, "action": action},
        )
        target = self._target()
        history = [entry["item"] for entry in thread.model_history]
        body = guardian.request_body(thread.id, history, planned)
        verdict = await guardian.review(target.client, {**target.headers, "session-id": thread.id}, body)
        thread.notify("guardianWarning", {"threadId": thread.id, "message": verdict.warning()})
        thread.notify(
            "item/autoApprovalReview/completed",
            {
                **common,
                "completedAtMs": now_ms(),
                "targetItemId": item["id"],
                "decisionSource": "agent",
                "review": verdict.wire(),
                "action": action,
            },
        )
        return verdict.refusal()

    async def _client_decision(
        self, thread: Thread, active: ActiveTurn, item: Json, approval_id: str | None = None
    ) -> Any:
        """Ask the client; None when it cannot answer (nobody follows, an error, it went away): fail closed.

        `approval_id` tells apart several approvals for one item (each exec of a patched-zsh command).
        `cancel` declines and, as the schema defines it, interrupts the turn at once: the turn's task is
        cancelled here, so its next await ends it as interrupted, exactly like `turn/interrupt`.
        """
        params = {
            "threadId": thread.id,
            "turnId": active.turn["id"],
            "itemId": item["id"],
            "startedAtMs": now_ms(),
            "command": item["command"],
            "cwd": item["cwd"],
            "commandActions": item["commandActions"],
            "reason": None,
        }
        if approval_id is not None:
            params["approvalId"] = approval_id
        try:
            answer = await thread.ask_client(APPROVAL_REQUEST, params)
        except Exception:  # nobody to ask, the client refused, or it went away: fail closed
            return None
        decision = answer.get("decision") if isinstance(answer, dict) else None
        if decision == "cancel" and active.task is not None:
            active.task.cancel()
        return decision

    async def _decide_exec(self, thread: Thread, active: ActiveTurn, item: Json, request: ExecRequest) -> ExecDecision:
        """One program the patched zsh is about to exec for `item`: run it, or refuse with a reason.

        The rules are server.threads.exec_approval's; the question goes to whoever reviews this thread's
        approvals, as one approval (its own approvalId) under the command's item.
        """
        rule_says_ask = exec_approval.needs_approval(
            request,
            source=item["source"],
            approval_policy=thread.settings.approval_policy,
            session_approved=thread.approved_programs,
        )
        if not rule_says_ask:
            return ExecDecision(True)
        asked = {**item, "command": request.display, "cwd": request.cwd, "commandActions": [_unknown(request.display)]}
        if _auto_reviewed(thread):
            refusal = await self._auto_review(thread, active, asked, {"command": request.argv, "cwd": request.cwd})
            return ExecDecision(refusal is None, refusal or "")
        decision = await self._client_decision(thread, active, asked, approval_id=str(uuid.uuid4()))
        if decision == "acceptForSession":
            thread.approved_programs.add(request.path)
        if _approves(decision):
            return ExecDecision(True)
        return ExecDecision(False, f"the user declined to run {request.path}")

    async def _exec(
        self,
        thread: Thread,
        active: ActiveTurn,
        argv: list[str],
        display: str,
        cwd: str,
        timeout_ms: int | None,
        source: str,
        *,
        item_id: str | None = None,
        planned: Json | None = None,
        per_exec_approval: bool = False,
    ) -> tuple[str, CommandResult | None]:
        """Run one command as a commandExecution item; returns what the model is told, and the result.

        `planned` is the action as the automatic reviewer sees it (defaults to the argv and cwd).
        `per_exec_approval`: argv runs the patched zsh, so instead of approving the command up front, every
        program it execs goes through the approval bridge (server.threads.exec_bridge).
        """
        turn_id = active.turn["id"]
        item: Json = {
            "type": "commandExecution",
            "id": item_id or uuid7(),
            "pluginId": None,
            "scriptPath": None,
            "command": display,
            "cwd": cwd,
            "processId": None,
            "source": source,
            "status": "inProgress",
            "commandActions": [_unknown(display)],
            "aggregatedOutput": None,
            "exitCode": None,
            "durationMs": None,
        }
        self._item_started(thread, turn_id, item)
        if source == "agent" and not per_exec_approval:
            refusal = await self._refusal(thread, active, item, planned or {"command": argv, "cwd": cwd})
            if refusal is not None:
                self._item_completed(thread, turn_id, {**item, "status": "declined"})
                return refusal, None

        def delta(text: str) -> None:
            thread.notify(
                "item/commandExecution/outputDelta",
                {"threadId": thread.id, "turnId": turn_id, "itemId": item["id"], "delta": text},
            )

        if per_exec_approval:
            async with ExecBridge(lambda request: self._decide_exec(thread, active, item, request)) as bridge:
                env = {**os.environ, **bridge.env()}
                result = await run_command(argv, cwd=cwd, on_output=delta, timeout_ms=timeout_ms, env=env)
        else:
            result = await run_command(argv, cwd=cwd, on_output=delta, timeout_ms=timeout_ms)
        status = "completed" if result.exit_code == 0 else "failed"
        done = {
            **item,
            "status": status,
            "aggregatedOutput": result.output,
            "exitCode": result.exit_code,
            "durationMs": result.duration_ms,
        }
        self._item_completed(thread, turn_id, done)
        suffix = "\n(command timed out)" if result.timed_out else ""
        return f"Exit code: {result.exit_code}\nOutput:\n{result.output}{suffix}", result

    # ------------------------------------------------------------------ shell turns

    async def _run_shell_turn(
        self, thread: Thread, active: ActiveTurn, command: str, timeout_ms: int | None, shell: Shell
    ) -> None:
        turn_id = active.turn["id"]
        self._announce_start(thread, active)
        argv = shell.argv(command)
        try:
            _, result = await self._exec(
                thread,
                active,
                argv,
                shlex.join(argv),
                thread.settings.cwd,
                timeout_ms,
                "userShell",
                per_exec_approval=shell.patched,
            )
        except asyncio.CancelledError:
            self._finish(thread, active, "interrupted")
            return
        assert result is not None  # user commands are never sent for approval
        thread.remember(
            turn_id,
            prompts.user_shell_command(command, result.exit_code, result.duration_ms / 1000, result.output),
        )
        self._finish(thread, active, "completed")


def _auto_reviewed(thread: Thread) -> bool:
    """Whether the automatic reviewer (server.threads.guardian) answers this thread's approvals."""
    return normalise(thread.settings.approvals_reviewer) == "auto_review"


def _approves(decision: Any) -> bool:
    return decision in APPROVED or (isinstance(decision, dict) and "acceptWithExecpolicyAmendment" in decision)


def _unknown(command: str) -> Json:
    """The commandActions entry for a command we do not parse into reads, searches and listings."""
    return {"type": "unknown", "command": command}


class _TurnFailed(Exception):
    def __init__(self, error: Json) -> None:
        super().__init__(error.get("message"))
        self.error = error


def _turn_error(exc: ModelError) -> Json:
    error: Json = exc.body["error"] if isinstance(exc.body.get("error"), dict) else {}
    if exc.status == 429 and error.get("type") in {"usage_limit_reached", "usage_not_included"}:
        return {
            "message": usage_limit_message(error, exc.headers),
            "codexErrorInfo": "usageLimitExceeded",
            "additionalDetails": None,
        }
    info = {401: "unauthorized", 400: "badRequest", 429: "rateLimitExceeded"}.get(exc.status or 0, "other")
    if exc.status is not None and exc.status >= 500:
        info = "internalServerError"
    return {"message": str(exc), "codexErrorInfo": info, "additionalDetails": None}


class _StreamState:
    """Items of one model response as its events arrive; committed to history only when it completes."""

    def __init__(self, engine: TurnEngine, thread: Thread, turn_id: str) -> None:
        self.engine = engine
        self.thread = thread
        self.turn_id = turn_id
        self.reset()

    def reset(self) -> None:
        """Forget a failed attempt's partial output (the retry replays the whole response)."""
        self.messages: dict[str, Json] = {}
        self.history: list[Json] = []
        self.calls: list[Json] = []
        self.usage: Json | None = None
        self.last_text: str | None = None

    def on_retry(self, attempt: int, error: Exception) -> None:
        self.reset()

    def handle(self, event: Json) -> None:
        kind = event.get("type")
        item: Json = event["item"] if isinstance(event.get("item"), dict) else {}
        if kind == "response.output_item.added" and item.get("type") == "message":
            item_id = item.get("id") or f"msg_{uuid7()}"
            wire = _agent_message(item_id)
            self.messages[item_id] = wire
            self.engine._item_started(self.thread, self.turn_id, wire)
        elif kind == "response.output_text.delta":
            item_id = event.get("item_id") or next(reversed(self.messages), None)
            delta_target = self.messages.get(item_id or "")
            if delta_target is not None:
                wire = delta_target
                wire["text"] += event.get("delta", "")
                self.thread.notify(
                    "item/agentMessage/delta",
                    {
                        "threadId": self.thread.id,
                        "turnId": self.turn_id,
                        "itemId": wire["id"],
                        "delta": event.get("delta", ""),
                    },
                )
        elif kind == "response.output_item.done":
            self._item_done(item)
        elif kind == "response.completed":
            self.usage = _token_usage(event.get("response", {}).get("usage"))

    def _item_done(self, item: Json) -> None:
        kind = item.get("type")
        if kind == "message" and item.get("role", "assistant") == "assistant":
            text = "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))
            item_id = item.get("id") or next(reversed(self.messages), None) or f"msg_{uuid7()}"
            wire = self.messages.pop(item_id, None)
            if wire is None:
                wire = _agent_message(item_id)
                self.engine._item_started(self.thread, self.turn_id, wire)
            wire["text"] = text
            self.last_text = text
            self.engine._item_completed(self.thread, self.turn_id, wire)
            self.history.append(
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
            )
        elif kind == "reasoning":
            summary = [part.get("text", "") for part in item.get("summary", []) if isinstance(part, dict)]
            wire = {"type": "reasoning", "id": item.get("id") or uuid7(), "summary": summary, "content": []}
            self.engine._item_started(self.thread, self.turn_id, wire)
            self.engine._item_completed(self.thread, self.turn_id, wire)
        elif kind == "function_call":
            call = {
                "type": "function_call",
                "call_id": item.get("call_id") or item.get("id") or uuid7(),
                "name": item.get("name", ""),
                "arguments": item.get("arguments", "") or "",
            }
            if item.get("namespace"):
                call["namespace"] = item["namespace"]
            self.calls.append(call)
            self.history.append(call)

    def commit(self) -> None:
        for entry in self.history:
            self.thread.remember(self.turn_id, entry)


def _agent_message(item_id: str) -> Json:
    """A new agentMessage item with every field upstream sends, so started and completed agree."""
    return {
        "type": "agentMessage",
        "id": item_id,
        "text": "",
        "phase": None,
        "memoryCitation": None,
        "delivery": None,
        "questions": None,
    }


def _token_usage(usage: Any) -> Json | None:
    if not isinstance(usage, dict):
        return None
    breakdown = {
        "totalTokens": usage.get("total_tokens", 0),
        "inputTokens": usage.get("input_tokens", 0),
        "cachedInputTokens": (usage.get("input_tokens_details") or {}).get("cached_tokens", 0),
        "cacheWriteInputTokens": 0,
        "outputTokens": usage.get("output_tokens", 0),
        "reasoningOutputTokens": (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0),
    }
    return breakdown
