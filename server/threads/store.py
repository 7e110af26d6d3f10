"""Threads of one server: created, loaded from their rollouts, listed, archived.

The store keeps loaded threads in memory so every connection sees the same live thread; a thread not loaded yet is
found by id under `$CODEX_HOME/sessions/` and replayed from its rollout.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server import UPSTREAM_PROTOCOL_VERSION
from server.protocol.errors import InvalidRequest
from server.threads.ids import uuid7
from server.threads.rollout import Json, Rollout, replay
from server.threads.thread import Thread, ThreadSettings

if TYPE_CHECKING:
    from server.context import ServerContext

LOG = logging.getLogger(__name__)

DEFAULT_LIST_LIMIT = 25
INTERACTIVE_KINDS = frozenset({"cli", "vscode", "appServer"})
"""Listed when `thread/list` names no `sourceKinds`, as upstream lists interactive sessions by default."""


def source_kind(source: Any) -> str:
    """ThreadSourceKind of a SessionSource; a custom source (`--session-source`) counts as appServer."""
    if isinstance(source, str):
        return source
    if isinstance(source, dict) and "subAgent" in source:
        return "subAgent"
    return "appServer"


class ThreadStore:
    def __init__(self, codex_home: Path) -> None:
        self.sessions_dir = codex_home / "sessions"
        self.archive_dir = codex_home / "archived_sessions"
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
            LOG.warning("%s: skipped %d torn line(s) from an interrupted write", path, replayed.torn_lines)
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


def thread_store(server: ServerContext) -> ThreadStore:
    """The one store of `server`, shared by the thread service and the light thread/list and thread/read handlers,
    which reach it without loading the turn engine, the model client or pydantic."""
    return server.shared(lambda context: ThreadStore(context.codex_home), ThreadStore)


def _settings_from(meta: Json, saved: Json, path: Path) -> ThreadSettings:
    known = {key: saved[key] for key in ThreadSettings.__dataclass_fields__ if key in saved}
    known.setdefault("cwd", meta.get("cwd") or str(path.parent))
    known.setdefault("model", meta.get("model") or "")
    return ThreadSettings(**known)
