"""What a fork copies from its source thread.

Two snapshot modes. *Committed*: only turns that ended. *Interrupted*: additionally the turn in flight,
cut off as a live interrupt would leave it: its user message only, status `interrupted`, and the
model-visible `<turn_aborted>` marker after it, so the fork's first request tells the model exactly what a
resumed interrupted thread would. A fork taken mid-turn uses the interrupted mode (as upstream does); the
source turn keeps running untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from server.protocol.errors import InvalidRequest
from server.threads import prompts
from server.threads.rollout import Json
from server.threads.thread import Thread

SnapshotMode = Literal["committed", "interrupted"]


@dataclass
class Snapshot:
    turns: list[Json]
    history: list[Json]


def snapshot(
    source: Thread,
    *,
    mode: SnapshotMode,
    last_turn_id: str | None = None,
    before_turn_id: str | None = None,
) -> Snapshot:
    in_flight = source.active.turn["id"] if source.active is not None else None
    turns: list[Json] = []
    for turn in source.turns:
        if turn["id"] == in_flight:
            if mode == "interrupted" and source.active is not None:
                turns.append(
                    {**turn, "items": list(source.active.user_items), "status": "interrupted", "completedAt": None}
                )
            continue
        turns.append({**turn, "items": list(turn["items"])})
    turns = _cut(turns, last_turn_id=last_turn_id, before_turn_id=before_turn_id)
    kept = {turn["id"] for turn in turns}
    history: list[Json] = []
    for entry in source.model_history:
        if entry.get("turnId") not in kept:
            continue
        if entry.get("turnId") == in_flight:
            if entry["item"].get("role") == "user" and not any(h.get("turnId") == in_flight for h in history):
                history.append(entry)
                history.append({"turnId": in_flight, "item": prompts.turn_aborted()})
            continue
        history.append(entry)
    return Snapshot(turns, history)


def _cut(turns: list[Json], *, last_turn_id: str | None, before_turn_id: str | None) -> list[Json]:
    ids = [turn["id"] for turn in turns]
    if last_turn_id is not None:
        if last_turn_id not in ids:
            raise InvalidRequest(f"turn not found in thread: {last_turn_id}")
        turns = turns[: ids.index(last_turn_id) + 1]
    if before_turn_id is not None:
        if before_turn_id not in ids:
            raise InvalidRequest(f"turn not found in thread: {before_turn_id}")
        turns = turns[: ids.index(before_turn_id)]
    return turns
