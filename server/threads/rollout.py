"""A thread's history on disk: one append-only JSONL file per thread.

Every record is one line `{"type": ..., ...}`. Appends are buffered per line and the file is fsynced
when a turn ends, so a crash loses at most the turn in flight. A torn last line (the crash landed
mid-write) is skipped on read and reported, never fatal: the rest of the history is still good.

Record types:
  meta       thread metadata at creation (`thread`, `settings`), later `meta` updates merge into it
  turn       a turn started (`turn`: its wire object without items)
  item       a completed item of a turn (`turnId`, `item`: wire ThreadItem)
  model      one input item as the model sees it on later turns (`item`: Responses input item)
  model_reset  compaction replaced what the model sees (`turnId`, `items`: Responses input items)
  turn_end   a turn ended (`turnId`, `status`, `error`, `completedAt`, `durationMs`)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]


@dataclass
class ReplayedThread:
    """Everything a rollout file says about a thread."""

    meta: Json
    turns: list[Json] = field(default_factory=list)
    """Wire Turn objects with their completed items, in order."""
    model_history: list[Json] = field(default_factory=list)
    """`{"turnId", "item"}` entries: what the model sees, tagged with the turn that added it."""
    settings: Json = field(default_factory=dict)
    torn_lines: int = 0
    """Undecodable lines skipped (a crash mid-append); reported by the caller."""


class Rollout:
    """Appends records to one thread's file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: Json, *, sync: bool = False) -> None:
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())


def replay(path: Path) -> ReplayedThread:
    """Rebuild a thread from its file; raises OSError if unreadable, ValueError if it has no metadata."""
    meta: Json | None = None
    turns: dict[str, Json] = {}
    model_history: list[Json] = []
    settings: Json = {}
    torn = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                torn += 1
                continue
            kind = record.get("type")
            if kind == "meta":
                meta = {**(meta or {}), **record["thread"]}
                settings = {**settings, **record.get("settings", {})}
            elif kind == "turn":
                turns[record["turn"]["id"]] = {**record["turn"], "items": []}
            elif kind == "item" and record.get("turnId") in turns:
                turns[record["turnId"]]["items"].append(record["item"])
            elif kind == "model":
                model_history.append({"turnId": record.get("turnId"), "item": record["item"]})
            elif kind == "model_reset":
                model_history = [{"turnId": record.get("turnId"), "item": item} for item in record["items"]]
            elif kind == "turn_end" and record.get("turnId") in turns:
                turns[record["turnId"]].update(
                    {k: record.get(k) for k in ("status", "error", "completedAt", "durationMs")}
                )
    if meta is None:
        raise ValueError(f"{path} has no thread metadata")
    for turn in turns.values():
        if turn.get("status") == "inProgress":
            turn["status"] = "interrupted"  # the server stopped mid-turn; the turn cannot resume
    return ReplayedThread(meta, list(turns.values()), model_history, settings, torn)
