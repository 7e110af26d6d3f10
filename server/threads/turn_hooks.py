"""When a turn runs hooks and what it does with their results (the hooks themselves: server.threads.hooks).

SessionStart hooks run once per loaded thread, at its first turn, and may add developer context; Stop
hooks run when the model stops calling tools and may send the turn back to the model with a reason.
Each run is reported as hook/started and hook/completed on the turn.
"""

from __future__ import annotations

import asyncio
import time

from server.threads import hooks, items, prompts
from server.threads.rollout import Json
from server.threads.turn import TurnRun


def runnable(turn: TurnRun, event: str) -> list[hooks.Hook]:
    from server.config import effective_config

    server = turn.services.server
    config = effective_config(server)
    found = hooks.discover(server.codex_home, config, turn.settings.cwd)
    bypass = turn.settings.bypass_hook_trust
    return [
        hook
        for hook in found.hooks
        if hook.event == event and (bypass or hooks.trust_status(hook, config) == "trusted")
    ]


async def run_hooks(turn: TurnRun, event: str, payload: Json, scope: str) -> list[hooks.HookResult]:
    """Run every runnable hook of `event` in parallel, reporting each run's start and end."""
    thread = turn.thread
    codex_home = turn.services.server.codex_home
    selected = runnable(turn, event)
    started_at = int(time.time())
    for hook in selected:
        run = hooks.run_summary(hook, scope, "running", started_at)
        turn.notify("hook/started", {"threadId": thread.id, "turnId": turn.id, "run": run})
    results = await asyncio.gather(
        *(hooks.run(h, payload, cwd=turn.settings.cwd, codex_home=codex_home) for h in selected)
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
        turn.notify("hook/completed", {"threadId": thread.id, "turnId": turn.id, "run": run})
    return list(results)


def payload(turn: TurnRun, event: str) -> Json:
    """The fields every hook's stdin JSON carries."""
    return {
        "session_id": turn.thread.id,
        "transcript_path": turn.thread.meta.get("path"),
        "cwd": turn.settings.cwd,
        "hook_event_name": event,
        "model": turn.settings.model,
        "permission_mode": "default",
    }


async def session_start(turn: TurnRun) -> None:
    """Once per loaded thread: SessionStart hooks, whose context entries the model reads as developer text."""
    thread = turn.thread
    if thread.session_hooks_ran:
        return
    thread.session_hooks_ran = True
    source = "resume" if len(thread.turns) > 1 else "startup"
    for result in await run_hooks(turn, "SessionStart", {**payload(turn, "SessionStart"), "source": source}, "thread"):
        for entry in result.entries:
            if entry["kind"] == "context":
                turn.remember(prompts.message("developer", entry["text"]))


async def stop(turn: TurnRun, last_message: str | None, active: bool) -> list[hooks.HookResult]:
    """Stop hooks; returns those that block the stop (and so send the turn back to the model)."""
    stop_payload = {
        **payload(turn, "Stop"),
        "turn_id": turn.id,
        "stop_hook_active": active,
        "last_assistant_message": last_message,
    }
    results = await run_hooks(turn, "Stop", stop_payload, "turn")
    return [result for result in results if result.status == "blocked"]


def continue_after_stop(turn: TurnRun, blocked: list[hooks.HookResult]) -> None:
    """Record the blocking reasons as a hookPrompt item and as one user message for the model."""
    ordered = sorted(blocked, key=lambda result: result.hook.display_order)
    turn.item_done(items.hook_prompt([{"text": r.block_reason or "", "hookRunId": r.hook.run_id} for r in ordered]))
    turn.remember(hooks.hook_prompt_message(ordered))
