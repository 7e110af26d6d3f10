"""A review turn (`review/start`, inline delivery): the model reviews what the target names, and the turn
reports it with upstream's review items (`enteredReviewMode`, `exitedReviewMode`, then the review as an
agent message). Only the final text is shown: upstream streams no deltas in review mode, and sends no
rate-limit update for the review's model call (it runs in a session of its own upstream)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from server.protocol.errors import InvalidRequest
from server.threads import items, model_request, prompts
from server.threads.ids import uuid7
from server.threads.rollout import Json
from server.threads.stream import turn_error
from server.threads.turn import TurnRun

UNCOMMITTED_PROMPT = (
    "Review the current code changes (staged, unstaged, and untracked files) and provide prioritized findings."
)


def describe(target: Mapping[str, Any]) -> tuple[str, str]:
    """(hint shown in the review items, prompt the model is sent) for a ReviewTarget."""
    kind = target.get("type")
    if kind == "custom":
        instructions = str(target.get("instructions") or "")
        if not instructions.strip():
            raise InvalidRequest("instructions must not be empty")
        return instructions, instructions
    if kind == "uncommittedChanges":
        return "current changes", UNCOMMITTED_PROMPT
    if kind == "baseBranch":
        branch = str(target.get("branch") or "")
        return f"changes against '{branch}'", f"Review the code changes against the base branch '{branch}'."
    sha = str(target.get("sha") or "")
    return f"commit {sha[:7]}", f"Review the code changes introduced by commit {sha}."


def requested(turn_id: str, hint: str) -> items.UserMessageItem:
    """The item `review/start` answers with: the hint as a user message whose id is the turn's own."""
    return items.user_message([hint], item_id=turn_id)


async def run(turn: TurnRun, hint: str, prompt: str) -> None:
    from server.model.responses import ModelError

    thread = turn.thread
    turn.item_done(items.entered_review_mode(hint))
    turn.announce_start()
    turn.item_done(items.user_message([prompt]))
    turn.remember(prompts.message("user", prompt))
    target = turn.services.target()
    texts: list[str] = []
    try:
        async for event in target.client.stream(
            model_request.body(thread), model_request.headers(target.headers, thread)
        ):
            item: Json = event["item"] if isinstance(event.get("item"), dict) else {}
            if event.get("type") == "response.output_item.added" and item.get("type") == "message":
                turn.item_started(items.agent_message(item.get("id") or f"msg_{uuid7()}"))
            elif event.get("type") == "response.output_item.done" and item.get("type") == "message":
                texts.append("".join(part.get("text", "") for part in item.get("content", [])))
    except asyncio.CancelledError:
        turn.finish("interrupted")
        return
    except ModelError as exc:
        turn.failed(turn_error(exc))
        return
    review = "\n".join(texts)
    turn.item_done(items.exited_review_mode(review))
    turn.item_done(items.agent_message(f"msg_{uuid7()}", review))
    turn.remember(prompts.message("assistant", review))
    turn.notify("thread/readState/changed", {"threadId": thread.id, "readState": thread.read_state()})
    turn.finish("completed")
