"""Automatic approval review: a second model request judges an action instead of the user.

With `approvals_reviewer = "auto_review"` (legacy `guardian_subagent`), an action that would have been
put to the user goes to a reviewer request on the same model API: its own prompt, the conversation so
far, the planned action as JSON, and a `text.format` JSON schema so the answer is a verdict we can parse
(protocol notes, section 13.3). The review fails closed: a reviewer that cannot be reached or answers
something unparseable refuses the action, because an approval nobody gave must never run a command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from server.threads.rollout import Json

if TYPE_CHECKING:
    from collections.abc import Mapping

    from server.model.responses import ResponsesClient

REVIEW_MODEL = "gpt-5.6-luna"
"""The model upstream 0.163 sends its reviews to, whatever model the thread itself uses."""

RISK_LEVELS = ("low", "medium", "high", "critical")
AUTHORIZATIONS = ("unknown", "low", "medium", "high")

VERDICT_FORMAT: Json = {
    "type": "json_schema",
    "strict": False,
    "name": "codex_output_schema",
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "risk_level": {"enum": list(RISK_LEVELS)},
            "user_authorization": {"enum": list(AUTHORIZATIONS)},
            "outcome": {"enum": ["allow", "deny"]},
            "rationale": {"type": "string"},
        },
        "required": ["outcome"],
    },
}

POLICY_PROMPT = (
    "You are judging one planned coding-agent action before it runs. The agent asked to run it outside its "
    "sandbox, so nobody else will check it. Read the conversation and the planned action, then decide:\n"
    "- risk_level: how much harm the action could do if it is wrong (low, medium, high, critical).\n"
    "- user_authorization: how clearly the user asked for this action (unknown, low, medium, high).\n"
    "- outcome: allow when the action is what the user asked for and its risk is acceptable; deny when it "
    "could destroy data, leak secrets, reach systems the user did not name, or goes beyond the request.\n"
    "- rationale: one or two sentences a user can read.\n"
    "Answer with JSON only, matching the given schema."
)

DENIAL_GUIDANCE = (
    "Do not bypass this rejection through a workaround or indirect execution. Continue with a safer "
    "alternative, or carry out checks to prove that the action is authorized or low risk before trying again. "
    "Complete unaffected work without asking for confirmation. Report anything that remains blocked, clarify "
    "why it was blocked by auto-review, inform the user of the risk and ask for approval."
)
FAILURE_GUIDANCE = (
    "The action was not executed because automatic approval review could not be completed. This is a review "
    "failure, not a determination that the action is unsafe. Do not bypass the approval check; resolve the "
    "error or ask the user for guidance."
)
TRANSCRIPT_ENTRY_LIMIT = 2000
"""Characters kept per transcript entry: the reviewer needs the gist, and a huge tool output must not
push the planned action out of its context."""

Status = Literal["approved", "denied", "aborted"]


@dataclass(frozen=True)
class Verdict:
    status: Status
    risk_level: str | None
    user_authorization: str | None
    rationale: str

    def wire(self) -> Json:
        """The `review` object of `item/autoApprovalReview/completed`."""
        return {
            "status": self.status,
            "riskLevel": self.risk_level,
            "userAuthorization": self.user_authorization,
            "rationale": self.rationale,
        }

    def warning(self) -> str:
        """The `guardianWarning` text the user sees."""
        if self.status == "aborted":
            return self.rationale
        word = "approved" if self.status == "approved" else "denied"
        return (
            f"Automatic approval review {word} (risk: {self.risk_level}, "
            f"authorization: {self.user_authorization}): {self.rationale}"
        )

    def refusal(self) -> str | None:
        """What the agent is told when the action does not run; None when it may run."""
        if self.status == "approved":
            return None
        if self.status == "aborted":
            return f"{self.rationale}\n{FAILURE_GUIDANCE}"
        return f"This action was rejected due to unacceptable risk.\nReason: {self.rationale}\n{DENIAL_GUIDANCE}"


class ReviewFailed(Exception):
    """The reviewer gave no usable verdict; the message says why (shown to the user and the agent)."""


def failed(reason: str) -> Verdict:
    return Verdict("aborted", None, None, f"Automatic approval review failed: {reason}")


def parse_verdict(text: str) -> Verdict:
    """Read the reviewer's JSON answer; missing optional fields get upstream's defaults."""
    try:
        answer = json.loads(text)
    except ValueError:
        raise ReviewFailed("guardian assessment was not valid JSON") from None
    if not isinstance(answer, dict) or answer.get("outcome") not in ("allow", "deny"):
        raise ReviewFailed("guardian assessment has no `outcome` of `allow` or `deny`")
    allow = answer["outcome"] == "allow"
    risk = answer.get("risk_level")
    if risk not in RISK_LEVELS:
        risk = "low" if allow else "high"
    authorization = answer.get("user_authorization")
    if authorization not in AUTHORIZATIONS:
        authorization = "unknown"
    rationale = answer.get("rationale")
    if not isinstance(rationale, str) or not rationale.strip():
        rationale = f"Auto-review returned a {risk}-risk {'allow' if allow else 'deny'} decision."
    return Verdict("approved" if allow else "denied", risk, authorization, rationale)


def transcript(history: list[Json]) -> str:
    """The conversation as numbered lines, the way the reviewer prompt presents it."""
    lines: list[str] = []
    for item in history:
        kind = item.get("type")
        if kind == "message" and item.get("role") in ("user", "assistant"):
            text = "".join(str(part.get("text", "")) for part in item.get("content", []) if isinstance(part, dict))
            lines.append(f"{item['role']}: {text}")
        elif kind == "function_call":
            lines.append(f"tool {item.get('name')} call: {item.get('arguments')}")
        elif kind == "function_call_output":
            lines.append(f"tool result: {item.get('output')}")
    return "\n".join(f"[{n}] {line[:TRANSCRIPT_ENTRY_LIMIT]}" for n, line in enumerate(lines, start=1))


def request_body(thread_id: str, history: list[Json], action: Json) -> Json:
    """The reviewer request: policy, conversation, planned action, and the verdict schema."""
    request = "\n".join(
        [
            f"Reviewed Codex session id: {thread_id}",
            ">>> APPROVAL REQUEST START",
            "Planned action JSON:",
            json.dumps(action, sort_keys=True),
            ">>> APPROVAL REQUEST END",
        ]
    )
    parts = [{"type": "input_text", "text": text} for text in (transcript(history), request) if text]
    return {
        "model": REVIEW_MODEL,
        "instructions": POLICY_PROMPT,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": POLICY_PROMPT}]},
            {"type": "message", "role": "user", "content": parts},
        ],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "store": False,
        "stream": True,
        "text": {"format": VERDICT_FORMAT},
        "prompt_cache_key": f"guardian:{thread_id}",
        "client_metadata": {"x-openai-subagent": "guardian"},
    }


async def review(client: ResponsesClient, headers: Mapping[str, str], body: Json) -> Verdict:
    """Ask the reviewer; every failure becomes an `aborted` verdict rather than an exception."""
    from server.model.responses import ModelError

    texts: list[str] = []
    try:
        async for event in client.stream(body, {**headers, "x-openai-subagent": "guardian"}, on_retry=_reset(texts)):
            item: Any = event.get("item")
            if event.get("type") != "response.output_item.done" or not isinstance(item, dict):
                continue
            if item.get("type") == "message":
                texts.extend(str(part.get("text", "")) for part in item.get("content", []) if isinstance(part, dict))
        return parse_verdict("".join(texts))
    except ModelError as exc:
        return failed(str(exc))
    except ReviewFailed as exc:
        return failed(str(exc))


def _reset(texts: list[str]) -> Any:
    def on_retry(attempt: int, error: Exception) -> None:
        texts.clear()

    return on_retry
