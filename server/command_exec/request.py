"""A `command/exec` request checked as upstream checks it, and turned into what to run.

The checks run in upstream's order, each with its code and wording, so a client sees the same first
complaint: the experimental-only field, then the params' own consistency, then the permission profile,
the terminal size and the process id that streaming needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from server.command_exec.permissions import UnknownPermissionProfile, check_permission_profile
from server.command_exec.process import DEFAULT_OUTPUT_CAP, DEFAULT_TIMEOUT_MS, ExecRequest, merged_env
from server.protocol.command_exec import CommandExecParams, TerminalSize
from server.protocol.errors import InvalidRequest, RpcError

INVALID_PARAMS = -32602
"""JSON-RPC's invalid-params code: upstream uses it (not -32600) for these semantic checks."""


def invalid_params(message: str) -> RpcError:
    return RpcError(message, code=INVALID_PARAMS)


def terminal_size(size: TerminalSize) -> tuple[int, int]:
    """(rows, cols), refused as upstream refuses a zero dimension."""
    if size.rows == 0 or size.cols == 0:
        raise invalid_params("command/exec size rows and cols must be greater than 0")
    return size.rows, size.cols


def _or_default(value: int | None, default: int) -> int:
    return default if value is None else value


def exec_request(
    params: CommandExecParams,
    *,
    environ: Mapping[str, str],
    experimental_api: bool,
    permissions: Callable[[], Any],
) -> ExecRequest:
    """What to run for `params`, or the RpcError upstream answers; `permissions()` reads the config's
    `[permissions]` table, only when a profile is asked for."""
    if params.permission_profile is not None and not experimental_api:
        # Upstream's schema marks this one field experimental; the rest of command/exec is stable.
        raise InvalidRequest("command/exec.permissionProfile requires experimentalApi capability")
    if not params.command:
        raise InvalidRequest("command must not be empty")
    if params.sandbox_policy is not None and params.permission_profile is not None:
        raise InvalidRequest("`permissionProfile` cannot be combined with `sandboxPolicy`")
    if params.size is not None and not params.tty:
        raise invalid_params("command/exec size requires tty: true")
    if params.output_bytes_cap is not None and params.disable_output_cap:
        raise invalid_params("command/exec cannot set both outputBytesCap and disableOutputCap")
    if params.timeout_ms is not None and params.disable_timeout:
        raise invalid_params("command/exec cannot set both timeoutMs and disableTimeout")
    if params.timeout_ms is not None and params.timeout_ms < 0:
        raise invalid_params(f"command/exec timeoutMs must be non-negative, got {params.timeout_ms}")
    if params.permission_profile is not None:
        try:
            check_permission_profile(params.permission_profile, permissions())
        except UnknownPermissionProfile as exc:
            raise InvalidRequest(f"invalid permission profile: {exc}") from None
    size = terminal_size(params.size) if params.size is not None else None
    if (params.tty or params.stream_stdin or params.stream_stdout_stderr) and params.process_id is None:
        raise InvalidRequest("command/exec tty or streaming requires a client-supplied processId")
    return ExecRequest(
        argv=params.command,
        cwd=Path(params.cwd) if params.cwd else None,
        env=merged_env(environ, params.env),
        tty=params.tty,
        stream_stdin=params.stream_stdin or params.tty,
        size=size,
        output_cap=None if params.disable_output_cap else _or_default(params.output_bytes_cap, DEFAULT_OUTPUT_CAP),
        timeout_ms=None if params.disable_timeout else _or_default(params.timeout_ms, DEFAULT_TIMEOUT_MS),
    )
