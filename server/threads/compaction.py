"""A compaction turn (`thread/compact/start`), as upstream's remote compaction runs it against the Responses
API: the whole history plus a `compaction_trigger` item goes to the model, which answers with one opaque
`compaction` item. Later turns send the user's messages and that item in place of everything else.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from server.threads import rate_limits
from server.threads.rollout import Json

if TYPE_CHECKING:
    from server.threads.engine import ActiveTurn, TurnEngine
    from server.threads.store import Thread

TRIGGER: Json = {"type": "compaction_trigger"}


def compacted_history(history: list[Json], compaction: Json) -> list[Json]:
    """What the model sees after compaction: the user's own messages, then the compaction item."""
    kept = [item for item in history if item.get("type") == "message" and item.get("role") == "user"]
    return [*kept, compaction]


def failure(message: str) -> Json:
    return {
        "message": f"Error running remote compact task: {message}",
        "codexErrorInfo": "other",
        "additionalDetails": None,
        "misalignment": None,
    }


async def run(engine: TurnEngine, thread: Thread, active: ActiveTurn) -> None:
    from server.model.responses import ModelError
    from server.threads.engine import _token_usage

    turn_id = active.turn["id"]
    engine._announce_start(thread, active)
    item: Json = {"type": "contextCompaction", "id": str(uuid.uuid4())}
    engine._item_started(thread, turn_id, item)
    target = engine._target()
    headers = {**target.headers, "session-id": thread.id, "thread-id": thread.id}
    body = engine._request_body(thread)
    body["input"] = [*body["input"], TRIGGER]
    outputs: list[Json] = []
    usage: Json | None = None
    answered: list[Mapping[str, str]] = []
    error: Json | None = None
    try:
        async for event in target.client.stream(body, headers, on_headers=answered.append):
            if event.get("type") == "response.output_item.done" and isinstance(event.get("item"), dict):
                outputs.append(event["item"])
            elif event.get("type") == "response.completed":
                usage = _token_usage(event.get("response", {}).get("usage"))
    except asyncio.CancelledError:
        engine._finish(thread, active, "interrupted")
        return
    except ModelError as exc:
        error = failure(str(exc))
    compactions = [output for output in outputs if output.get("type") == "compaction"]
    if error is None and len(compactions) != 1:
        error = failure(
            "Fatal error: remote compaction v2 expected exactly one compaction output item, "
            f"got {len(compactions)} from {len(outputs)} output items"
        )
    if error is not None:
        thread.notify("error", {"error": error, "willRetry": False, "threadId": thread.id, "turnId": turn_id})
        engine._finish(thread, active, "failed", error)
        return
    thread.replace_model_history(turn_id, compacted_history([e["item"] for e in thread.model_history], compactions[0]))
    if usage is not None:
        for key, value in usage.items():
            thread.usage_total[key] = thread.usage_total.get(key, 0) + value
        token_usage = {"total": dict(thread.usage_total), "last": usage, "modelContextWindow": None}
        thread.notify(
            "thread/tokenUsage/updated", {"threadId": thread.id, "turnId": turn_id, "tokenUsage": token_usage}
        )
    if answered:
        thread.notify("account/rateLimits/updated", {"rateLimits": rate_limits.snapshot(answered[-1])})
    engine._item_completed(thread, turn_id, item)
    engine._finish(thread, active, "completed")
