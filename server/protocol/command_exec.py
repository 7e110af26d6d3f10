"""command/exec and its follow-ups (upstream's v2 CommandExec*Params)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from server.protocol.base import AbsolutePath, WireModel
from server.protocol.errors import describe_value


def _integer(name: str, low: int, high: int) -> Any:
    """An integer checked like serde's `name` (u16, i64, usize): the same wording for a wrong type or range."""

    def check(value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"invalid type: {describe_value(value)}, expected {name}")
        if not low <= value <= high:
            raise ValueError(f"invalid value: integer `{value}`, expected {name}")
        return value

    return BeforeValidator(check)


U16 = Annotated[int, _integer("u16", 0, 2**16 - 1)]
I64 = Annotated[int, _integer("i64", -(2**63), 2**63 - 1)]
USIZE = Annotated[int, _integer("usize", 0, 2**64 - 1)]


class _Strict(WireModel):
    # Strict like serde: "yes" is not a boolean and "5" is not a number.
    model_config = ConfigDict(**WireModel.model_config, strict=True)


class TerminalSize(_Strict):
    rows: U16
    cols: U16


class DangerFullAccess(_Strict):
    type: Literal["dangerFullAccess"]


class ReadOnly(_Strict):
    type: Literal["readOnly"]
    network_access: bool = False


class ExternalSandbox(_Strict):
    type: Literal["externalSandbox"]
    network_access: Literal["restricted", "enabled"] = "restricted"


class WorkspaceWrite(_Strict):
    type: Literal["workspaceWrite"]
    writable_roots: list[AbsolutePath] = Field(default_factory=list)
    network_access: bool = False
    exclude_tmpdir_env_var: bool = False
    exclude_slash_tmp: bool = False


SandboxPolicy = Annotated[DangerFullAccess | ReadOnly | ExternalSandbox | WorkspaceWrite, Field(discriminator="type")]


class CommandExecParams(_Strict):
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


class CommandExecWriteParams(_Strict):
    process_id: str
    delta_base64: str | None = None
    close_stdin: bool = False


class CommandExecTerminateParams(_Strict):
    process_id: str


class CommandExecResizeParams(_Strict):
    process_id: str
    size: TerminalSize
