"""A compaction turn (`thread/compact/start`), as upstream's remote compaction runs it against the Responses
API: the whole history plus a `compaction_trigger` item goes to the model, which answers with one opaque
`compaction` item. Later turns send the user's messages and that item in place of everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from server.threads import items, model_request
from server.threads.rollout import Json
from server.threads.stream import token_usage
from server.threads.turn import TurnRun

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


async def run(turn: TurnRun) -> None:
    from server.model.responses import ModelError

    thread = turn.thread
    turn.announce_start()
    item = items.context_compaction()
    turn.item_started(item)
    target = turn.services.target()
    body = model_request.body(thread)
    body["input"] = [*body["input"], TRIGGER]
    outputs: list[Json] = []
    usage: Json | None = None
    answered: list[Mapping[str, str]] = []
    error: Json | None = None
    try:
        async for event in target.client.stream(
            body, model_request.headers(target.headers, thread), on_headers=answered.append
        ):
            if event.get("type") == "response.output_item.done" and isinstance(event.get("item"), dict):
                outputs.append(event["item"])
            elif event.get("type") == "response.completed":
                usage = token_usage(event.get("response", {}).get("usage"))
    except asyncio.CancelledError:
        turn.finish("interrupted")
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
        turn.failed(error)
        return
    thread.replace_model_history(turn.id, compacted_history([e["item"] for e in thread.model_history], compactions[0]))
    if usage is not None:
        turn.usage_updated(usage)
    turn.rate_limits_seen(answered)
    turn.item_completed(item)
    turn.finish("completed")
