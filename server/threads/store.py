"""Threads of one server: created, loaded from their rollouts, listed, archived.

A thread's wire shape follows upstream's `Thread` (fields measured in protocol notes, section 6). The store
keeps loaded threads in memory so every connection sees the same live thread; a thread not loaded yet is
found by id under `$CODEX_HOME/sessions/` and replayed from its rollout.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server import UPSTREAM_PROTOCOL_VERSION
from server.protocol.errors import InvalidRequest
from server.threads.rollout import Json, Rollout, replay

if TYPE_CHECKING:
    from server.session import ServerContext, Session
    from server.threads.engine import ActiveTurn

DEFAULT_LIST_LIMIT = 25
INTERACTIVE_KINDS = frozenset({"cli", "vscode", "appServer"})
"""Listed when `thread/list` names no `sourceKinds`, as upstream lists interactive sessions by default."""


def uuid7() -> str:
    """A time-ordered UUID (version 7), like upstream's ids: sorting ids sorts by creation time."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def source_kind(source: Any) -> str:
    """ThreadSourceKind of a SessionSource; a custom source (`--session-source`) counts as appServer."""
    if isinstance(source, str):
        return source
    if isinstance(source, dict) and "subAgent" in source:
        return "subAgent"
    return "appServer"


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
    service_tier: str | None = None
    """What `serviceTier` echoes (upstream's name for the requested tier); None when none was requested."""
    """thread/start `config.bypass_hook_trust`: run hooks that are not trusted yet (with a warning)."""


@dataclass(eq=False)
class Thread:
    """A live thread. Identity matters (connections follow this object), so it hashes by identity."""

    meta: Json
    settings: ThreadSettings
    rollout: Rollout
    turns: list[Json] = field(default_factory=list)
    model_history: list[Json] = field(default_factory=list)
    active: ActiveTurn | None = None
    subscribers: set[Session] = field(default_factory=set)
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

    def wire(self, *, include_turns: bool = False) -> Json:
        turns = [{**turn, "itemsView": "full"} for turn in self.turns] if include_turns else []
        return {**self.meta, "status": self.status(), "turns": turns}

    def update_meta(self, **changes: Any) -> None:
        self.meta.update(changes)
        self.rollout.append({"type": "meta", "thread": changes})

    # The thread's history changes only through these methods, so memory and rollout never disagree and
    # every record type is written in one place (see server.threads.rollout for the format).

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

    def add_item(self, turn_id: str, item: Json) -> None:
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

    def replace_model_history(self, turn_id: str, items: list[Json]) -> None:
        """Compaction: what the model sees on later turns is `items` alone from now on."""
        self.model_history = [{"turnId": turn_id, "item": item} for item in items]
        self.rollout.append({"type": "model_reset", "turnId": turn_id, "items": items})

    async def ask_client(self, method: str, params: Json) -> Any:
        """A server->client request to one connection following this thread; LookupError when none does."""
        for session in self.subscribers:
            return await session.request(method, params)
        raise LookupError(f"no client follows thread {self.id}")

    def notify(self, method: str, params: Json) -> None:
        """Send to every connection following this thread."""
        for session in list(self.subscribers):
            session.notify(method, params)


class ThreadStore:
    def __init__(self, server: ServerContext) -> None:
        self.server = server
        self.sessions_dir = server.codex_home / "sessions"
        self.archive_dir = server.codex_home / "archived_sessions"
        self.loaded: dict[str, Thread] = {}

    def create(
        self,
        settings: ThreadSettings,
        *,
        source: Any,
        originator: str,
        thread_source: str | None = None,
        forked_from: str | None = None,
        parent_thread_id: str | None = None,
    ) -> Thread:
        thread_id = uuid7()
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(now))
        day = time.strftime("%Y/%m/%d", time.localtime(now))
        path = self.sessions_dir / day / f"rollout-{stamp}-{thread_id}.jsonl"
        meta: Json = {
            "id": thread_id,
            "sessionId": thread_id,
            "forkedFromId": forked_from,
            "parentThreadId": parent_thread_id,
            "preview": "",
            "ephemeral": False,
            "projectId": None,
            "historyMode": "paginated",
            "modelProvider": settings.model_provider,
            "model": settings.model,
            "reasoningEffort": None,
            "createdAt": int(now),
            "updatedAt": int(now),
            "recencyAt": int(now),
            "path": str(path),
            "cwd": settings.cwd,
            "cliVersion": UPSTREAM_PROTOCOL_VERSION,
            "originator": originator,
            "source": source,
            "threadSource": thread_source,
            "agentNickname": None,
            "agentRole": None,
            "gitInfo": None,
            "name": None,
        }
        thread = Thread(meta, settings, Rollout(path))
        thread.rollout.append({"type": "meta", "thread": meta, "settings": dataclasses.asdict(settings)}, sync=True)
        self.loaded[thread_id] = thread
        return thread

    def find_path(self, thread_id: str) -> Path | None:
        if not thread_id or "/" in thread_id:
            return None
        for root in (self.sessions_dir, self.archive_dir):
            if root.is_dir():
                for path in root.rglob(f"rollout-*-{thread_id}.jsonl"):
                    return path
        return None

    def get(self, thread_id: str) -> Thread:
        """The live thread, loading it from disk when needed."""
        thread = self.loaded.get(thread_id)
        if thread is not None:
            return thread
        path = self.find_path(thread_id)
        if path is None:
            raise InvalidRequest(f"no rollout found for thread id {thread_id}")
        thread = self._load(path)
        self.loaded[thread_id] = thread
        return thread

    def _load(self, path: Path) -> Thread:
        try:
            replayed = replay(path)
        except (OSError, ValueError) as exc:
            raise InvalidRequest(f"failed to load rollout {path}: {exc}") from None
        if replayed.torn_lines:
            from server.runner import log

            log(f"{path}: skipped {replayed.torn_lines} torn line(s) from an interrupted write")
        meta = dict(replayed.meta)
        meta["path"] = str(path)
        settings = _settings_from(meta, replayed.settings, path)
        return Thread(meta, settings, Rollout(path), replayed.turns, replayed.model_history)

    def all_threads(self, *, archived: bool) -> Iterable[Thread]:
        root = self.archive_dir if archived else self.sessions_dir
        if not root.is_dir():
            return
        for path in root.rglob("rollout-*.jsonl"):
            thread_id = path.stem[-36:]
            thread = self.loaded.get(thread_id)
            if thread is None:
                try:
                    thread = self._load(path)
                except InvalidRequest:
                    continue
            yield thread

    def list(
        self, *, source_kinds: list[str] | None, cursor: str | None, limit: int | None, archived: bool
    ) -> tuple[list[Thread], str | None]:
        kinds = set(source_kinds) if source_kinds else INTERACTIVE_KINDS
        threads = [
            thread
            for thread in self.all_threads(archived=archived)
            if thread.turns and source_kind(thread.meta.get("source")) in kinds
        ]
        threads.sort(key=lambda t: (t.meta.get("updatedAt", 0), t.id), reverse=True)
        try:
            start = int(cursor) if cursor else 0
        except ValueError:
            raise InvalidRequest(f"invalid cursor: {cursor}") from None
        size = limit or DEFAULT_LIST_LIMIT
        page = threads[start : start + size]
        next_cursor = str(start + size) if start + size < len(threads) else None
        return page, next_cursor

    def archive(self, thread_id: str) -> None:
        thread = self.get(thread_id)
        source = Path(thread.meta["path"])
        if source.is_relative_to(self.archive_dir):
            return
        target = self.archive_dir / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        thread.meta["path"] = str(target)
        thread.rollout = Rollout(target)
        self.loaded.pop(thread_id, None)


def _settings_from(meta: Json, saved: Json, path: Path) -> ThreadSettings:
    known = {key: saved[key] for key in ThreadSettings.__dataclass_fields__ if key in saved}
    known.setdefault("cwd", meta.get("cwd") or str(path.parent))
    known.setdefault("model", meta.get("model") or "")
    return ThreadSettings(**known)
