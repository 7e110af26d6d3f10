"""Wire shapes of the turns and thread items this server builds, one typed constructor per kind.

Each TypedDict follows a `ThreadItem` variant (or `Turn`) of upstream's v2 schema
(`codex app-server generate-json-schema`); tests/server/test_thread_items.py checks every constructor's
output against that schema, so a field upstream adds or renames shows up as a failing test, not as a
client surprise. Every field is always sent, `null` when unknown, because upstream sends them all and a
client may key on their presence. Items are built here and nowhere else.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, TypedDict

from server.threads.ids import uuid7

TurnStatus = Literal["inProgress", "completed", "interrupted", "failed"]
CommandSource = Literal["agent", "userShell"]
CommandStatus = Literal["inProgress", "completed", "failed", "declined"]
DynamicToolCallStatus = Literal["inProgress", "completed", "failed"]
CollabAgentToolCallStatus = Literal["inProgress", "completed", "failed", "interrupted"]


class Turn(TypedDict):
    id: str
    rootTurnId: str
    items: list[Any]
    itemsView: Literal["notLoaded", "summary", "full"]
    status: TurnStatus
    error: Any
    startedAt: int | None
    completedAt: int | None
    durationMs: int | None


class TextInput(TypedDict):
    type: Literal["text"]
    text: str
    text_elements: list[Any]


class UserMessageItem(TypedDict):
    type: Literal["userMessage"]
    id: str
    clientId: str | None
    content: list[TextInput]


class AgentMessageItem(TypedDict):
    type: Literal["agentMessage"]
    id: str
    text: str
    phase: str | None
    memoryCitation: Any
    delivery: Any
    questions: Any


class ReasoningItem(TypedDict):
    type: Literal["reasoning"]
    id: str
    summary: list[str]
    content: list[str]


class CommandAction(TypedDict):
    type: Literal["unknown"]
    command: str


class CommandExecutionItem(TypedDict):
    type: Literal["commandExecution"]
    id: str
    pluginId: str | None
    scriptPath: str | None
    command: str
    cwd: str
    processId: str | None
    source: CommandSource
    status: CommandStatus
    commandActions: list[CommandAction]
    aggregatedOutput: str | None
    exitCode: int | None
    durationMs: int | None


class DynamicToolCallItem(TypedDict):
    type: Literal["dynamicToolCall"]
    id: str
    namespace: str | None
    tool: str
    arguments: Any
    status: DynamicToolCallStatus
    contentItems: list[Any] | None
    success: bool | None
    durationMs: int | None


class HookPromptFragment(TypedDict):
    text: str
    hookRunId: str


class HookPromptItem(TypedDict):
    type: Literal["hookPrompt"]
    id: str
    fragments: list[HookPromptFragment]


class CollabAgentToolCallItem(TypedDict):
    type: Literal["collabAgentToolCall"]
    id: str
    tool: Literal["wait"]
    status: CollabAgentToolCallStatus
    senderThreadId: str
    receiverThreadIds: list[str]
    agentsStates: dict[str, Any]
    prompt: str | None
    model: str | None
    reasoningEffort: str | None


SubAgentActivityKind = Literal["started", "interacted", "interrupted", "completed"]


class SubAgentActivityItem(TypedDict):
    type: Literal["subAgentActivity"]
    id: str
    kind: SubAgentActivityKind
    agentThreadId: str
    agentPath: str
    model: str | None
    reasoningEffort: str | None


class EnteredReviewModeItem(TypedDict):
    type: Literal["enteredReviewMode"]
    id: str
    review: str


class ExitedReviewModeItem(TypedDict):
    type: Literal["exitedReviewMode"]
    id: str
    review: str


class ContextCompactionItem(TypedDict):
    type: Literal["contextCompaction"]
    id: str


ThreadItem = (
    UserMessageItem
    | AgentMessageItem
    | ReasoningItem
    | CommandExecutionItem
    | DynamicToolCallItem
    | HookPromptItem
    | CollabAgentToolCallItem
    | SubAgentActivityItem
    | EnteredReviewModeItem
    | ExitedReviewModeItem
    | ContextCompactionItem
)

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


def turn(root_turn_id: str | None = None) -> Turn:
    """A new turn, in progress; a sub-agent's turn carries the turn of the root agent that caused it."""
    turn_id = uuid7()
    return {
        "id": turn_id,
        "rootTurnId": root_turn_id or turn_id,
        "items": [],
        "itemsView": "notLoaded",
        "status": "inProgress",
        "error": None,
        "startedAt": None,
        "completedAt": None,
        "durationMs": None,
    }


def user_message(texts: list[str], item_id: str | None = None) -> UserMessageItem:
    """A user's message; `item_id` only where upstream reuses another id (a review turn's request)."""
    return {
        "type": "userMessage",
        "id": item_id or uuid7(),
        "clientId": None,
        "content": [{"type": "text", "text": text, "text_elements": []} for text in texts],
    }


def agent_message(item_id: str, text: str = "") -> AgentMessageItem:
    """Every field upstream sends, so the started and completed forms of one message agree."""
    return {
        "type": "agentMessage",
        "id": item_id,
        "text": text,
        "phase": None,
        "memoryCitation": None,
        "delivery": None,
        "questions": None,
    }


def reasoning(item_id: str, summary: list[str]) -> ReasoningItem:
    return {"type": "reasoning", "id": item_id, "summary": summary, "content": []}


def unknown_action(command: str) -> CommandAction:
    """The commandActions entry for a command we do not parse into reads, searches and listings."""
    return {"type": "unknown", "command": command}


def command_execution(item_id: str, command: str, cwd: str, source: CommandSource) -> CommandExecutionItem:
    """A command about to run; `command_finished` gives its completed form."""
    return {
        "type": "commandExecution",
        "id": item_id,
        "pluginId": None,
        "scriptPath": None,
        "command": command,
        "cwd": cwd,
        "processId": None,
        "source": source,
        "status": "inProgress",
        "commandActions": [unknown_action(command)],
        "aggregatedOutput": None,
        "exitCode": None,
        "durationMs": None,
    }


def command_declined(item: CommandExecutionItem) -> CommandExecutionItem:
    declined = item.copy()
    declined["status"] = "declined"
    return declined


def command_finished(
    item: CommandExecutionItem, *, output: str, exit_code: int, duration_ms: int
) -> CommandExecutionItem:
    done = item.copy()
    done["status"] = "completed" if exit_code == 0 else "failed"
    done["aggregatedOutput"] = output
    done["exitCode"] = exit_code
    done["durationMs"] = duration_ms
    return done


def dynamic_tool_call(call_id: str, namespace: str | None, tool: str, arguments: Any) -> DynamicToolCallItem:
    return {
        "type": "dynamicToolCall",
        "id": call_id,
        "namespace": namespace,
        "tool": tool,
        "arguments": arguments,
        "status": "inProgress",
        "contentItems": None,
        "success": None,
        "durationMs": None,
    }


def dynamic_tool_finished(
    item: DynamicToolCallItem, *, content: list[Any] | None, success: bool, duration_ms: int
) -> DynamicToolCallItem:
    done = item.copy()
    done["status"] = "completed" if success else "failed"
    done["contentItems"] = content
    done["success"] = success
    done["durationMs"] = duration_ms
    return done


def hook_prompt(fragments: list[HookPromptFragment]) -> HookPromptItem:
    return {"type": "hookPrompt", "id": f"msg_{uuid7()}", "fragments": fragments}


def wait_call(call_id: str, sender_thread_id: str) -> CollabAgentToolCallItem:
    """The `collabAgentToolCall` upstream reports for `wait_agent`; completed by `wait_finished`."""
    return {
        "type": "collabAgentToolCall",
        "id": call_id,
        "tool": "wait",
        "status": "inProgress",
        "senderThreadId": sender_thread_id,
        "receiverThreadIds": [],
        "agentsStates": {},
        "prompt": None,
        "model": None,
        "reasoningEffort": None,
    }


def wait_finished(item: CollabAgentToolCallItem) -> CollabAgentToolCallItem:
    done = item.copy()
    done["status"] = "completed"
    return done


def sub_agent_activity(
    item_id: str,
    kind: SubAgentActivityKind,
    agent_thread_id: str,
    agent_path: str,
    model: str | None = None,
    effort: Any = None,
) -> SubAgentActivityItem:
    return {
        "type": "subAgentActivity",
        "id": item_id,
        "kind": kind,
        "agentThreadId": agent_thread_id,
        "agentPath": agent_path,
        "model": model,
        "reasoningEffort": effort if effort in REASONING_EFFORTS else None,
    }


def entered_review_mode(review: str) -> EnteredReviewModeItem:
    """A review turn starts; `review` is the hint naming what is reviewed."""
    return {"type": "enteredReviewMode", "id": uuid7(), "review": review}


def exited_review_mode(review: str) -> ExitedReviewModeItem:
    """A review turn ends; `review` is the model's review text."""
    return {"type": "exitedReviewMode", "id": uuid7(), "review": review}


def context_compaction() -> ContextCompactionItem:
    """The item of a compaction turn; upstream gives it a random (version 4) UUID, not a time-ordered one."""
    return {"type": "contextCompaction", "id": str(uuid.uuid4())}
