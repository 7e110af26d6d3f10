"""Params of thread/* and turn/* (upstream schema: Thread*Params, Turn*Params). Results are built as dicts
by server.threads, whose wire objects (Thread, Turn, ThreadItem) are stored and replayed verbatim."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from server.protocol.base import WireModel


class ThreadSettingsParams(WireModel):
    cwd: str | None = None
    model: str | None = None
    model_provider: str | None = None
    approval_policy: Any = None
    approvals_reviewer: str | None = None
    sandbox: Any = None


class ThreadStartParams(ThreadSettingsParams):
    thread_source: str | None = None
    config: dict[str, Any] | None = None
    dynamic_tools: list[Any] | None = None


class ThreadResumeParams(ThreadSettingsParams):
    thread_id: str
    exclude_turns: bool = False


class ThreadReadParams(WireModel):
    thread_id: str
    include_turns: bool = False


class ThreadListParams(WireModel):
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=0)
    source_kinds: list[str] | None = None
    archived: bool | None = None


class ThreadArchiveParams(WireModel):
    thread_id: str


class ThreadForkParams(ThreadSettingsParams):
    thread_id: str
    last_turn_id: str | None = None
    before_turn_id: str | None = None
    exclude_turns: bool = False
    ephemeral: bool = False
    thread_source: str | None = None


class TextInput(WireModel):
    type: Literal["text"]
    text: str


class TurnStartParams(WireModel):
    thread_id: str
    input: list[TextInput]
    approval_policy: Any = None
    cwd: str | None = None
    model: str | None = None


class TurnInterruptParams(WireModel):
    thread_id: str
    turn_id: str


class ThreadShellCommandParams(WireModel):
    thread_id: str
    command: str
    timeout_ms: int | None = None
