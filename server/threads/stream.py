"""One model response as its Responses events arrive: items for the client, history for the model.

Messages and reasoning become `agentMessage` / `reasoning` items as they stream; function calls are
collected for the tool table. What the model must see on later turns is committed only once the response
completes, so a retried attempt never leaves half an answer in the history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.threads import items
from server.threads.ids import uuid7
from server.threads.rollout import Json
from server.threads.turn import TurnRun
from server.threads.usage_limits import usage_limit_message

if TYPE_CHECKING:
    from server.model.responses import ModelError


class TurnFailed(Exception):
    """The turn cannot go on; `error` is the TurnError object reported to the client."""

    def __init__(self, error: Json) -> None:
        super().__init__(error.get("message"))
        self.error = error


def turn_error(exc: ModelError) -> Json:
    """The TurnError a failed model request becomes, with upstream's `codexErrorInfo` for its status."""
    error: Json = exc.body["error"] if isinstance(exc.body.get("error"), dict) else {}
    if exc.status == 429 and error.get("type") in {"usage_limit_reached", "usage_not_included"}:
        return {
            "message": usage_limit_message(error, exc.headers),
            "codexErrorInfo": "usageLimitExceeded",
            "additionalDetails": None,
        }
    info = {401: "unauthorized", 400: "badRequest", 429: "rateLimitExceeded"}.get(exc.status or 0, "other")
    if exc.status is not None and exc.status >= 500:
        info = "internalServerError"
    return {"message": str(exc), "codexErrorInfo": info, "additionalDetails": None}


class ResponseStream:
    """Items of one model response as its events arrive; committed to history only when it completes."""

    def __init__(self, turn: TurnRun) -> None:
        self.turn = turn
        self.reset()

    def reset(self) -> None:
        """Forget a failed attempt's partial output (the retry replays the whole response)."""
        self.messages: dict[str, items.AgentMessageItem] = {}
        self.history: list[Json] = []
        self.calls: list[Json] = []
        self.usage: Json | None = None
        self.last_text: str | None = None

    def on_retry(self, attempt: int, error: Exception) -> None:
        self.reset()

    def handle(self, event: Json) -> None:
        kind = event.get("type")
        item: Json = event["item"] if isinstance(event.get("item"), dict) else {}
        if kind == "response.output_item.added" and item.get("type") == "message":
            item_id = item.get("id") or f"msg_{uuid7()}"
            wire = items.agent_message(item_id)
            self.messages[item_id] = wire
            self.turn.item_started(wire)
        elif kind == "response.output_text.delta":
            item_id = event.get("item_id") or next(reversed(self.messages), None)
            delta_target = self.messages.get(item_id or "")
            if delta_target is not None:
                delta_target["text"] += event.get("delta", "")
                self.turn.notify(
                    "item/agentMessage/delta",
                    {
                        "threadId": self.turn.thread.id,
                        "turnId": self.turn.id,
                        "itemId": delta_target["id"],
                        "delta": event.get("delta", ""),
                    },
                )
        elif kind == "response.output_item.done":
            self._item_done(item)
        elif kind == "response.completed":
            self.usage = token_usage(event.get("response", {}).get("usage"))

    def _item_done(self, item: Json) -> None:
        kind = item.get("type")
        if kind == "message" and item.get("role", "assistant") == "assistant":
            text = "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))
            item_id = item.get("id") or next(reversed(self.messages), None) or f"msg_{uuid7()}"
            wire = self.messages.pop(item_id, None)
            if wire is None:
                wire = items.agent_message(item_id)
                self.turn.item_started(wire)
            wire["text"] = text
            self.last_text = text
            self.turn.item_completed(wire)
            self.history.append(
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
            )
        elif kind == "reasoning":
            summary = [part.get("text", "") for part in item.get("summary", []) if isinstance(part, dict)]
            self.turn.item_done(items.reasoning(item.get("id") or uuid7(), summary))
        elif kind == "function_call":
            call = {
                "type": "function_call",
                "call_id": item.get("call_id") or item.get("id") or uuid7(),
                "name": item.get("name", ""),
                "arguments": item.get("arguments", "") or "",
            }
            if item.get("namespace"):
                call["namespace"] = item["namespace"]
            self.calls.append(call)
            self.history.append(call)

    def commit(self) -> None:
        for entry in self.history:
            self.turn.remember(entry)


def token_usage(usage: Any) -> Json | None:
    """Responses `usage` as the TokenUsageBreakdown upstream reports."""
    if not isinstance(usage, dict):
        return None
    return {
        "totalTokens": usage.get("total_tokens", 0),
        "inputTokens": usage.get("input_tokens", 0),
        "cachedInputTokens": (usage.get("input_tokens_details") or {}).get("cached_tokens", 0),
        "cacheWriteInputTokens": 0,
        "outputTokens": usage.get("output_tokens", 0),
        "reasoningOutputTokens": (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0),
    }
