"""One turn's run: the object every step of a turn works on, so `thread, active` stop travelling.

The notification order per turn follows upstream (protocol notes, section 6): status active,
turn/started, the items of the turn, token usage, status idle, turn/completed. `TurnServices` is what a
turn needs from the server (config home, model, shell, thread store), handed in once by the thread
service instead of being looked up by each step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.threads import prompts, rate_limits
from server.threads.rollout import Json
from server.threads.shell import Shell
from server.threads.store import ThreadStore
from server.threads.thread import ActiveTurn, Thread, ThreadSettings

if TYPE_CHECKING:
    from server.context import ServerContext
    from server.model.responses import ResponsesClient


@dataclass
class ModelTarget:
    """Where and how to call the model for one turn."""

    client: ResponsesClient
    headers: dict[str, str]


@dataclass(frozen=True)
class TurnServices:
    """What turns need from the server they run in."""

    server: ServerContext
    store: ThreadStore
    target: Callable[[], ModelTarget]
    """Read per model request, so a login or a config edit applies to the next request."""
    shell: Callable[[], Shell]
    """Read per command, so a config edit (e.g. pointing `zsh_path` at a new build) applies at once."""


class TurnRun:
    """One turn of one thread, from its start to its final status."""

    def __init__(self, services: TurnServices, thread: Thread, active: ActiveTurn) -> None:
        self.services = services
        self.thread = thread
        self.active = active

    @property
    def id(self) -> str:
        turn_id: str = self.active.turn["id"]
        return turn_id

    @property
    def root_turn_id(self) -> str:
        return str(self.active.turn.get("rootTurnId") or self.id)

    @property
    def settings(self) -> ThreadSettings:
        return self.thread.settings

    def notify(self, method: str, params: Json) -> None:
        self.thread.notify(method, params)

    def remember(self, model_item: Json) -> None:
        self.thread.remember(self.id, model_item)

    def item_started(self, item: Mapping[str, Any]) -> None:
        self.thread.item_started(self.id, item)

    def item_completed(self, item: Mapping[str, Any]) -> None:
        self.thread.item_completed(self.id, item)

    def item_done(self, item: Mapping[str, Any]) -> None:
        self.thread.item_done(self.id, item)

    def usage_updated(self, usage: Json) -> None:
        """Add one model response's token usage to the thread's total and report both."""
        total = self.thread.usage_total
        for key, value in usage.items():
            total[key] = total.get(key, 0) + value
        token_usage = {"total": dict(total), "last": usage, "modelContextWindow": None}
        self.notify(
            "thread/tokenUsage/updated", {"threadId": self.thread.id, "turnId": self.id, "tokenUsage": token_usage}
        )

    def rate_limits_seen(self, answered: Sequence[Mapping[str, str]]) -> None:
        """`account/rateLimits/updated` from the headers of the last answer the model API gave, if any."""
        if answered:
            self.notify("account/rateLimits/updated", {"rateLimits": rate_limits.snapshot(answered[-1])})

    def take_steered_input(self) -> None:
        """Announce and remember the input steered in since the last model request."""
        self.active.steer_arrived.clear()
        while self.active.steered:
            item = self.active.steered.pop(0)
            self.item_done(item)
            self.remember(prompts.message("user", "\n".join(part["text"] for part in item["content"])))

    async def ask_client(self, method: str, params: Json) -> Any:
        """Ask the connection that started this turn, or another follower when it has gone."""
        return await self.thread.ask_client(method, params, first=self.active.starter)

    def cancel(self) -> None:
        """End the turn as interrupted at its next await, exactly like `turn/interrupt`."""
        if self.active.task is not None:
            self.active.task.cancel()

    def announce_start(self) -> None:
        self.active.turn["startedAt"] = int(time.time())
        self.thread.turn(self.id)["startedAt"] = self.active.turn["startedAt"]
        self.notify("thread/status/changed", {"threadId": self.thread.id, "status": self.thread.status()})
        self.notify("turn/started", {"threadId": self.thread.id, "turn": {**self.active.turn, "items": []}})

    def finish(self, status: str, error: Json | None = None) -> None:
        thread, turn_id = self.thread, self.id
        completed_at = int(time.time())
        duration_ms = int((time.monotonic() - self.active.started) * 1000)
        thread.end_turn(turn_id, status=status, error=error, completed_at=completed_at, duration_ms=duration_ms)
        stored = thread.turn(turn_id)
        thread.active = None
        now = int(time.time())
        thread.meta.update(updatedAt=now, recencyAt=now)
        self.notify("thread/status/changed", {"threadId": thread.id, "status": thread.status()})
        items = [] if status == "interrupted" else list(stored["items"])
        self.notify(
            "turn/completed",
            {
                "threadId": thread.id,
                "turn": {
                    **self.active.turn,
                    "items": items,
                    "itemsView": "summary" if items else "notLoaded",
                    "status": status,
                    "error": error,
                    "completedAt": completed_at,
                    "durationMs": duration_ms,
                },
            },
        )

    def failed(self, error: Json) -> None:
        """Report a turn error (`error` notification) and end the turn as failed."""
        self.notify("error", {"error": error, "willRetry": False, "threadId": self.thread.id, "turnId": self.id})
        self.finish("failed", error)


async def wait_until_idle(thread: Thread) -> None:
    """Wait for the thread's running turn (if any) to end."""
    while thread.active is not None and thread.active.task is not None:
        await asyncio.wait({thread.active.task})
