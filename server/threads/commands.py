"""Commands as `commandExecution` items: approved (or not), run, streamed, and reported to the model."""

from __future__ import annotations

import os
from dataclasses import dataclass

from server.threads import items
from server.threads.approvals import Approvals
from server.threads.exec_bridge import ExecBridge
from server.threads.ids import uuid7
from server.threads.rollout import Json
from server.threads.shell import CommandResult, run_command
from server.threads.turn import TurnRun


@dataclass(frozen=True)
class Command:
    """One command a turn runs."""

    argv: list[str]
    display: str
    """The command as the item shows it."""
    cwd: str
    source: items.CommandSource
    timeout_ms: int | None = None
    item_id: str | None = None
    """The item's id; the model's call id when the command answers a tool call that names one."""
    planned: Json | None = None
    """The action as the automatic reviewer sees it (defaults to the argv and cwd)."""
    per_exec_approval: bool = False
    """argv runs the patched zsh: instead of approving the command up front, every program it execs goes
    through the approval bridge (server.threads.exec_bridge)."""


async def run(turn: TurnRun, command: Command) -> tuple[str, CommandResult | None]:
    """Run `command` as a commandExecution item; returns what the model is told, and the result."""
    item = items.command_execution(command.item_id or uuid7(), command.display, command.cwd, command.source)
    approvals = Approvals(turn)
    turn.item_started(item)
    if command.source == "agent" and not command.per_exec_approval:
        refusal = await approvals.refusal(item, command.planned or {"command": command.argv, "cwd": command.cwd})
        if refusal is not None:
            turn.item_completed(items.command_declined(item))
            return refusal, None

    def delta(text: str) -> None:
        turn.notify(
            "item/commandExecution/outputDelta",
            {"threadId": turn.thread.id, "turnId": turn.id, "itemId": item["id"], "delta": text},
        )

    if command.per_exec_approval:
        async with ExecBridge(lambda request: approvals.decide_exec(item, request)) as bridge:
            env = {**os.environ, **bridge.env()}
            result = await run_command(
                command.argv, cwd=command.cwd, on_output=delta, timeout_ms=command.timeout_ms, env=env
            )
    else:
        result = await run_command(command.argv, cwd=command.cwd, on_output=delta, timeout_ms=command.timeout_ms)
    turn.item_completed(
        items.command_finished(item, output=result.output, exit_code=result.exit_code, duration_ms=result.duration_ms)
    )
    suffix = "\n(command timed out)" if result.timed_out else ""
    return f"Exit code: {result.exit_code}\nOutput:\n{result.output}{suffix}", result
