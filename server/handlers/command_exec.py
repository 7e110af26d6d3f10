"""command/exec, command/exec/write, command/exec/terminate, command/exec/resize: adapters over
server.command_exec.

As upstream's schema says, the `command/exec` response is deferred until the process exits and follows
every `command/exec/outputDelta` it streamed (the runner lets these deltas through ahead of the response:
see `server.runner.STREAMED_BEFORE_RESPONSE`); follow-up requests are answered while it runs.
"""

from __future__ import annotations

from typing import Any

from server.command_exec.output import decode_output
from server.command_exec.process import ExecProcess, StdinClosed, Stream
from server.command_exec.registry import CommandExecs, DuplicateProcess, UnknownProcess
from server.command_exec.request import exec_request, invalid_params, terminal_size
from server.config import effective_config
from server.fs.encoding import Base64Error, decode, encode
from server.handlers.registry import method
from server.protocol.command_exec import (
    CommandExecParams,
    CommandExecResizeParams,
    CommandExecTerminateParams,
    CommandExecWriteParams,
)
from server.protocol.errors import InternalError, InvalidRequest
from server.session import Session, Unanswered


def _execs(session: Session) -> CommandExecs:
    return session.scoped(lambda _: CommandExecs(), CommandExecs)


@method("command/exec", CommandExecParams)
async def command_exec(session: Session, params: CommandExecParams) -> dict[str, Any]:
    request = exec_request(
        params,
        environ=session.server.environ,
        experimental_api=session.experimental_api,
        permissions=lambda: effective_config(session.server).get("permissions"),
    )
    process_id = params.process_id
    on_output = None
    if process_id is not None and (params.tty or params.stream_stdout_stderr):

        def on_output(stream: Stream, chunk: bytes, cap_reached: bool) -> None:
            session.notify(
                "command/exec/outputDelta",
                {
                    "processId": process_id,
                    "stream": stream,
                    "deltaBase64": encode(chunk).decode("ascii"),
                    "capReached": cap_reached,
                },
            )

    process = ExecProcess(request, on_output)
    execs = _execs(session)
    try:
        execs.reserve(process_id, process)
    except DuplicateProcess as exc:
        raise InvalidRequest(str(exc)) from None
    try:
        try:
            await process.start()
        except ValueError as exc:
            raise InternalError(f"failed to spawn command: {exc}") from None
        except OSError as exc:
            raise InternalError(f"failed to spawn command: {exc.strerror} (os error {exc.errno})") from None
        result = await process.wait()
        if process.abandoned:
            raise Unanswered  # the connection's input ended: upstream answers nothing for the killed process
    finally:
        execs.release(process_id, process)
    return {
        "exitCode": result.exit_code,
        "stdout": decode_output(result.stdout),
        "stderr": decode_output(result.stderr),
    }


async def _running(session: Session, process_id: str) -> ExecProcess:
    try:
        process = _execs(session).get(process_id)
    except UnknownProcess as exc:
        raise InvalidRequest(str(exc)) from None
    await process.spawned()
    return process


@method("command/exec/write", CommandExecWriteParams)
async def command_exec_write(session: Session, params: CommandExecWriteParams) -> dict[str, Any]:
    if params.delta_base64 is None and not params.close_stdin:
        raise invalid_params("command/exec/write requires deltaBase64 or closeStdin")
    try:
        data = decode(params.delta_base64) if params.delta_base64 is not None else b""
    except Base64Error as exc:
        raise invalid_params(f"invalid deltaBase64: {exc}") from None
    process = await _running(session, params.process_id)
    if not process.accepts_stdin:
        raise InvalidRequest("stdin streaming is not enabled for this command/exec")
    try:
        await process.write(data, close=params.close_stdin)
    except StdinClosed as exc:
        raise InvalidRequest(str(exc)) from None
    return {}


@method("command/exec/terminate", CommandExecTerminateParams)
async def command_exec_terminate(session: Session, params: CommandExecTerminateParams) -> dict[str, Any]:
    (await _running(session, params.process_id)).kill()
    return {}


@method("command/exec/resize", CommandExecResizeParams)
async def command_exec_resize(session: Session, params: CommandExecResizeParams) -> dict[str, Any]:
    rows, cols = terminal_size(params.size)
    process = await _running(session, params.process_id)
    try:
        process.resize(rows, cols)
    except ValueError as exc:
        raise InvalidRequest(f"failed to resize PTY: {exc}") from None
    return {}
