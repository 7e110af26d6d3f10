"""A live thread: its metadata, settings, turns, model history, and the connections that follow it.

A thread's wire shape follows upstream's `Thread` (fields measured in protocol notes, section 6). Its
history changes only through the methods below, so memory and rollout never disagree and every record
type is written in one place (see server.threads.rollout for the format).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.threads.ids import now_ms
from server.threads.rollout import Json, Rollout


class Follower(Protocol):
    """A connection following a thread, as the thread sees it: it is notified and may be asked."""

    def notify(self, method: str, params: Any) -> None: ...

    async def request(self, method: str, params: Any) -> Any: ...


@dataclass
class ActiveTurn:
    """The turn a thread is running: its wire object, its task, and who started it."""

    turn: Json
    task: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)
    user_items: list[Any] = field(default_factory=list)
    """The user message(s) of this turn, copied into a fork taken mid-turn."""
    starter: Follower | None = None
    """The connection whose request started the turn; asked first when the turn needs an answer."""
    steerable: bool = False
    """A model turn started by `turn/start`: `turn/steer` may add input to it."""
    steered: list[Any] = field(default_factory=list)
    """User messages from `turn/steer` not yet shown to the model."""
    steer_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when `turn/steer` queues input, so the model request under way is cut short and sent again."""

    def steer(self, user_item: Any) -> None:
        """Queue a `turn/steer` message for the next model request (the turn's run takes it from there)."""
        self.steered.append(user_item)
        self.user_items.append(user_item)
        self.steer_arrived.set()


@dataclass
class ThreadSettings:
    """Per-thread settings a turn runs with; thread/start sets them, turn/start may override for a turn."""

    cwd: str
    model: str
    model_provider: str = "openai"
    approval_policy: Any = "on-request"
    approvals_reviewer: str = "user"
    sandbox: Json = field(default_factory=lambda: {"type": "readOnly", "networkAccess": False})
    dynamic_tools: list[Json] = field(default_factory=list)
    """Client-implemented tools (thread/start `dynamicTools`), in the client's wire shape."""
    bypass_hook_trust: bool = False
    """thread/start `config.bypass_hook_trust`: run hooks that are not trusted yet (with a warning)."""
    service_tier: str | None = None
    """What `serviceTier` echoes (upstream's name for the requested tier); None when none was requested."""


@dataclass(eq=False)
class Thread:
    """A live thread. Identity matters (connections follow this object), so it hashes by identity."""

    meta: Json
    settings: ThreadSettings
    rollout: Rollout
    turns: list[Json] = field(default_factory=list)
    model_history: list[Json] = field(default_factory=list)
    active: ActiveTurn | None = None
    subscribers: set[Follower] = field(default_factory=set)
    session_hooks_ran: bool = False
    """SessionStart hooks run once per loaded thread, at its first turn (as upstream runs them)."""
    usage_total: dict[str, int] = field(default_factory=dict)
    """Token usage summed over this process's turns (reported as `tokenUsage.total`)."""
    approved_programs: set[str] = field(default_factory=set)
    """Program paths the user approved with `acceptForSession` under the patched zsh; kept in memory only,
    like upstream's session approval cache, so a restarted server asks again."""

    @property
    def id(self) -> str:
        thread_id: str = self.meta["id"]
        return thread_id

    def status(self) -> Json:
        if self.active is not None:
            return {"type": "active", "activeFlags": []}
        return {"type": "idle"}

    def read_state(self) -> Json:
        """ThreadReadState: no client marks turns read here, so the first unread turn is the thread's first."""
        first = self.turns[0]["id"] if self.turns else None
        return {"firstUnread": {"type": "turn", "turnId": first} if first else None, "revision": str(uuid.uuid4())}

    def wire(self, *, include_turns: bool = False) -> Json:
        turns = [{**turn, "itemsView": "full"} for turn in self.turns] if include_turns else []
        return {**self.meta, "status": self.status(), "turns": turns}

    def update_meta(self, **changes: Any) -> None:
        self.meta.update(changes)
        self.rollout.append({"type": "meta", "thread": changes})

    def turn(self, turn_id: str) -> Json:
        """The stored turn with this id (newest first: it is nearly always the last one)."""
        for turn in reversed(self.turns):
            if turn["id"] == turn_id:
                return turn
        raise KeyError(turn_id)

    def add_turn(self, turn: Json) -> None:
        """Start a turn; items already on `turn` are recorded after it (a fork copies whole turns)."""
        self.turns.append({**turn, "items": []})
        self.rollout.append({"type": "turn", "turn": {k: v for k, v in turn.items() if k != "items"}})
        for item in turn.get("items", []):
            self.add_item(turn["id"], item)

    def add_item(self, turn_id: str, item: Mapping[str, Any]) -> None:
        self.turn(turn_id)["items"].append(item)
        self.rollout.append({"type": "item", "turnId": turn_id, "item": item})

    def end_turn(
        self, turn_id: str, *, status: str, error: Json | None, completed_at: int | None, duration_ms: int | None
    ) -> None:
        """Close a turn; the rollout is fsynced here, so a crash loses at most the turn in flight."""
        ending = {"status": status, "error": error, "completedAt": completed_at, "durationMs": duration_ms}
        self.turn(turn_id).update(ending)
        self.rollout.append({"type": "turn_end", "turnId": turn_id, **ending}, sync=True)

    def remember(self, turn_id: str, model_item: Json) -> None:
        """Append to what the model sees on later turns."""
        self.model_history.append({"turnId": turn_id, "item": model_item})
        self.rollout.append({"type": "model", "turnId": turn_id, "item": model_item})

    def replace_model_history(self, turn_id: str, model_items: list[Json]) -> None:
        """Compaction: what the model sees on later turns is `model_items` alone from now on."""
        self.model_history = [{"turnId": turn_id, "item": item} for item in model_items]
        self.rollout.append({"type": "model_reset", "turnId": turn_id, "items": model_items})

    def item_started(self, turn_id: str, item: Mapping[str, Any]) -> None:
        self.notify("item/started", {"item": item, "threadId": self.id, "turnId": turn_id, "startedAtMs": now_ms()})

    def item_completed(self, turn_id: str, item: Mapping[str, Any]) -> None:
        self.add_item(turn_id, item)
        self.notify("item/completed", {"item": item, "threadId": self.id, "turnId": turn_id, "completedAtMs": now_ms()})

    def item_done(self, turn_id: str, item: Mapping[str, Any]) -> None:
        """An item that is complete as soon as it exists: started and completed at once."""
        self.item_started(turn_id, item)
        self.item_completed(turn_id, item)

    async def ask_client(self, method: str, params: Json, *, first: Follower | None = None) -> Any:
        """A server->client request to one connection following this thread; LookupError when none does.

        `first` (the connection that started the turn) is asked when it still follows the thread, so an
        approval goes to the user who asked for the work, not to whichever observer a set yields first.
        """
        if first is not None and first in self.subscribers:
            return await first.request(method, params)
        for follower in self.subscribers:
            return await follower.request(method, params)
        raise LookupError(f"no client follows thread {self.id}")

    def notify(self, method: str, params: Json) -> None:
        """Send to every connection following this thread."""
        for follower in list(self.subscribers):
            follower.notify(method, params)
