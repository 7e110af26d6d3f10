"""command/exec and its follow-ups (upstream's v2 CommandExec*Params)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from server.protocol.base import I64, U16, USIZE, AbsolutePath, WireModel


class TerminalSize(WireModel):
    rows: U16
    cols: U16


class DangerFullAccess(WireModel):
    type: Literal["dangerFullAccess"]


class ReadOnly(WireModel):
    type: Literal["readOnly"]
    network_access: bool = False


class ExternalSandbox(WireModel):
    type: Literal["externalSandbox"]
    network_access: Literal["restricted", "enabled"] = "restricted"


class WorkspaceWrite(WireModel):
    type: Literal["workspaceWrite"]
    writable_roots: list[AbsolutePath] = Field(default_factory=list)
    network_access: bool = False
    exclude_tmpdir_env_var: bool = False
    exclude_slash_tmp: bool = False


SandboxPolicy = Annotated[DangerFullAccess | ReadOnly | ExternalSandbox | WorkspaceWrite, Field(discriminator="type")]


class CommandExecParams(WireModel):
    command: list[str]
    cwd: str | None = None
    env: dict[str, str | None] | None = None
    process_id: str | None = None
    tty: bool = False
    stream_stdin: bool = False
    stream_stdout_stderr: bool = False
    size: TerminalSize | None = None
    timeout_ms: I64 | None = None
    disable_timeout: bool = False
    output_bytes_cap: USIZE | None = None
    disable_output_cap: bool = False
    sandbox_policy: SandboxPolicy | None = None
    """Checked and not applied: this server runs commands without a sandbox."""
    permission_profile: str | None = None
    """Checked like `sandbox_policy`, and not applied either."""


class CommandExecWriteParams(WireModel):
    process_id: str
    delta_base64: str | None = None
    close_stdin: bool = False


class CommandExecTerminateParams(WireModel):
    process_id: str


class CommandExecResizeParams(WireModel):
    process_id: str
    size: TerminalSize
