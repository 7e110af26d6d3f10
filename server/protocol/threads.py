"""Params of thread/* and turn/* (upstream schema: Thread*Params, Turn*Params). Results are built as dicts
by server.threads, whose wire objects (Thread, Turn, ThreadItem) are stored and replayed verbatim."""

from __future__ import annotations

from typing import Any, Literal

from server.protocol.base import I64, U32, WireModel


class ThreadSettingsParams(WireModel):
    cwd: str | None = None
    model: str | None = None
    model_provider: str | None = None
    approval_policy: Any = None
    approvals_reviewer: str | None = None
    sandbox: Any = None
    service_tier: str | None = None


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
    limit: U32 | None = None
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
    timeout_ms: I64 | None = None


class ThreadIdParams(WireModel):
    """thread/unarchive, thread/unsubscribe, thread/compact/start: a thread id and nothing else."""

    thread_id: str


class ThreadSetNameParams(WireModel):
    thread_id: str
    name: str


class ThreadLoadedListParams(WireModel):
    cursor: str | None = None
    limit: U32 | None = None


class GitInfoPatch(WireModel):
    """ThreadMetadataGitInfoUpdateParams: an omitted field stays, null clears, a string replaces."""

    sha: str | None = None
    branch: str | None = None
    origin_url: str | None = None


class ThreadMetadataUpdateParams(WireModel):
    thread_id: str
    git_info: GitInfoPatch | None = None
    project_id: str | None = None
    daybreak_enabled: bool | None = None


class ThreadTurnsListParams(WireModel):
    thread_id: str
    cursor: str | None = None
    limit: U32 | None = None
    sort_direction: Literal["asc", "desc"] | None = None
    items_view: Literal["notLoaded", "summary", "full"] | None = None


class ThreadInjectItemsParams(WireModel):
    thread_id: str
    items: list[Any]


class ThreadApproveGuardianDeniedActionParams(WireModel):
    thread_id: str
    event: Any


class TurnSteerParams(WireModel):
    thread_id: str
    expected_turn_id: str
    input: list[TextInput]


class ReviewTarget(WireModel):
    type: Literal["uncommittedChanges", "baseBranch", "commit", "custom"]
    branch: str | None = None
    sha: str | None = None
    title: str | None = None
    instructions: str | None = None


class ReviewStartParams(WireModel):
    thread_id: str
    target: ReviewTarget
    delivery: Literal["inline", "detached"] | None = None
