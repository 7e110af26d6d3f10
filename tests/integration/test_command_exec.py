"""command/exec and its follow-ups (write, terminate, resize), as upstream 0.163 answers them.

Every command runs with `sandboxPolicy: dangerFullAccess`: upstream then runs it directly, as ours always
does (ours has no sandbox), so both servers run the same process. Upstream's default policy goes through
its Linux sandbox helper, which is not part of the protocol.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, Notification, RpcResponseError, ServerExited
from codex_app_harness.pytest_plugin import AppServerFactory, server_command
from codex_app_harness.sync import background_loop
from codex_app_harness.transports import default_env
from codex_app_harness.websocket_server import WebSocketServer

NO_SANDBOX = {"sandboxPolicy": {"type": "dangerFullAccess"}}
DELTA = "command/exec/outputDelta"


def exec_params(command: list[str], **params: Any) -> dict[str, Any]:
    return {"command": command, **NO_SANDBOX, **params}


def start(client: Client, command: list[str], **params: Any) -> concurrent.futures.Future[Any]:
    """Send command/exec without waiting: its response comes when the process exits."""
    request = client.inner.request("command/exec", exec_params(command, **params), timeout=30)
    return asyncio.run_coroutine_threadsafe(request, background_loop())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Deltas:
    """The `command/exec/outputDelta` notifications a client received, kept in wire order."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: list[Notification] = []

    def _take(self) -> None:
        self.client.settle()
        self.seen = sorted([*self.seen, *self.client.drain(DELTA)], key=lambda note: note.received)

    def params(self) -> list[dict[str, Any]]:
        self._take()
        return [note.params for note in self.seen]

    def output(self, process_id: str, stream: str = "stdout") -> bytes:
        """Every byte streamed so far for one process and stream."""
        return b"".join(
            base64.b64decode(params["deltaBase64"])
            for params in self.params()
            if params["processId"] == process_id and params["stream"] == stream
        )

    def wait_for(self, process_id: str, needle: bytes) -> None:
        """Wait until `needle` was streamed on stdout (bounded: at most 200 deltas)."""
        for _ in range(200):
            if needle in self.output(process_id):
                return
            self.seen.append(self.client.wait_for_notification(DELTA, processId=process_id))
        raise AssertionError(f"{needle!r} never appeared in {process_id}'s output")


def rejected(client: Client, method: str, params: Any) -> RpcResponseError:
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(method, params)
    return excinfo.value


# ------------------------------------------------------------------------------------------- success paths


def test_a_buffered_command_answers_with_its_exit_code_and_output(app_server: Client) -> None:
    result = app_server.request("command/exec", exec_params(["sh", "-c", "echo out; echo err >&2; exit 3"]))
    assert result == {"exitCode": 3, "stdout": "out\n", "stderr": "err\n"}


def test_cwd_and_env_overrides_apply(app_server: Client, tmp_path: Path) -> None:
    result = app_server.request(
        "command/exec",
        exec_params(
            ["sh", "-c", 'pwd; echo "$EXTRA-${HOME:-unset}"'], cwd=str(tmp_path), env={"EXTRA": "x", "HOME": None}
        ),
    )
    assert result["stdout"] == f"{tmp_path}\nx-unset\n"


def test_output_that_is_not_utf8_is_decoded_as_its_likely_legacy_encoding(app_server: Client) -> None:
    latin1 = app_server.request("command/exec", exec_params(["printf", "caf\\351"]))
    assert latin1["stdout"] == "café"
    cyrillic = app_server.request("command/exec", exec_params(["printf", "\\317\\360\\350\\342\\345\\362"]))
    assert cyrillic["stdout"] == "Привет"


def test_streamed_output_arrives_as_deltas_and_is_left_out_of_the_response(app_server: Client) -> None:
    script = "echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c"
    result = start(app_server, ["sh", "-c", script], processId="p1", streamStdoutStderr=True).result(30)
    assert result == {"exitCode": 0, "stdout": "", "stderr": ""}
    deltas = Deltas(app_server)
    assert deltas.output("p1") == b"a\nc\n"
    assert deltas.output("p1", "stderr") == b"b\n"
    assert {params["capReached"] for params in deltas.params()} == {False}


def test_stdin_is_written_then_closed(app_server: Client) -> None:
    deltas = Deltas(app_server)
    running = start(app_server, ["cat"], processId="cat", streamStdin=True, streamStdoutStderr=True)
    assert app_server.request("command/exec/write", {"processId": "cat", "deltaBase64": b64(b"hello\n")}) == {}
    deltas.wait_for("cat", b"hello\n")
    assert app_server.request("command/exec/write", {"processId": "cat", "closeStdin": True}) == {}
    assert running.result(30) == {"exitCode": 0, "stdout": "", "stderr": ""}
    assert deltas.output("cat") == b"hello\n"


def test_stdin_without_streaming_output_is_buffered_in_the_response(app_server: Client) -> None:
    running = start(app_server, ["cat"], processId="buffered", streamStdin=True)
    app_server.request("command/exec/write", {"processId": "buffered", "deltaBase64": b64(b"xyz"), "closeStdin": True})
    assert running.result(30) == {"exitCode": 0, "stdout": "xyz", "stderr": ""}


def test_a_tty_reports_its_size_and_follows_a_resize(app_server: Client) -> None:
    script = "stty size; read line; echo got:$line; stty size"
    deltas = Deltas(app_server)
    running = start(app_server, ["sh", "-c", script], processId="tty", tty=True, size={"rows": 30, "cols": 100})
    deltas.wait_for("tty", b"30 100\r\n")
    assert app_server.request("command/exec/resize", {"processId": "tty", "size": {"rows": 40, "cols": 120}}) == {}
    app_server.request("command/exec/write", {"processId": "tty", "deltaBase64": b64(b"hi\n")})
    assert running.result(30) == {"exitCode": 0, "stdout": "", "stderr": ""}
    # The terminal echoes the input line; stdout and stderr are one stream on a tty.
    assert deltas.output("tty") == b"30 100\r\nhi\r\ngot:hi\r\n40 120\r\n"
    assert deltas.output("tty", "stderr") == b""


def test_closing_a_tty_ends_the_line_and_sends_end_of_file(app_server: Client) -> None:
    running = start(app_server, ["cat"], processId="tty-eof", tty=True)
    app_server.request("command/exec/write", {"processId": "tty-eof", "deltaBase64": b64(b"xyz"), "closeStdin": True})
    assert running.result(30)["exitCode"] == 0
    # Echo of "xyz" and of the newline that close adds, then cat's copy of the line.
    assert Deltas(app_server).output("tty-eof") == b"xyz\r\nxyz\r\n"


def test_the_pty_is_the_controlling_terminal(app_server: Client) -> None:
    """Programs that open /dev/tty (password prompts, pagers) reach the pty, as in a terminal emulator."""
    result = start(app_server, ["sh", "-c", "echo via-tty > /dev/tty"], processId="ctty", tty=True).result(30)
    assert result["exitCode"] == 0
    assert Deltas(app_server).output("ctty") == b"via-tty\r\n"


def test_the_end_of_input_kills_the_connections_processes_at_once_unanswered(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    """Upstream kills a connection's processes, with or without a `processId`, as soon as its input ends,
    without waiting for them or answering their `command/exec`: the client is gone."""
    client = app_server_factory()
    named_pid, unnamed_pid = tmp_path / "named", tmp_path / "unnamed"
    named = start(client, ["sh", "-c", f"echo $$ > {named_pid}; exec sleep 60"], processId="orphan")
    unnamed = start(client, ["sh", "-c", f"echo $$ > {unnamed_pid}; exec sleep 60"])
    pids = [wait_for_pid(named_pid), wait_for_pid(unnamed_pid)]
    client.close_stdin()
    # Bounded poll, well under the grace the runner gives requests still running at end of input: these are
    # not waited for, they are killed when the input ends.
    for _ in range(60):
        if not any(alive(pid) for pid in pids):
            break
        time.sleep(0.05)
    assert [alive(pid) for pid in pids] == [False, False]
    client.wait_exit(timeout=30)
    for running in (named, unnamed):
        with pytest.raises(ServerExited):
            running.result(30)


def wait_for_pid(path: Path) -> int:
    for _ in range(200):  # bounded: the shell writes its pid as soon as it starts
        text = path.read_text() if path.exists() else ""
        if text.strip():
            return int(text)
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or reaped between open and read
        return False
    return state != "Z"


def test_terminate_kills_the_process(app_server: Client) -> None:
    running = start(app_server, ["sleep", "30"], processId="sleeper")
    assert app_server.request("command/exec/terminate", {"processId": "sleeper"}) == {}
    assert running.result(30) == {"exitCode": 137, "stdout": "", "stderr": ""}
    assert rejected(app_server, "command/exec/terminate", {"processId": "sleeper"}).message == (
        'no active command/exec for process id "sleeper"'
    )


def test_a_timeout_kills_the_process_and_reports_124(app_server: Client) -> None:
    result = app_server.request("command/exec", exec_params(["sh", "-c", "echo before; sleep 30"], timeoutMs=300))
    assert result == {"exitCode": 124, "stdout": "before\n", "stderr": ""}


def test_a_background_child_holding_the_output_does_not_hold_the_response(app_server: Client) -> None:
    """The response follows the command's own exit and a bounded drain of its output (2 s upstream), not
    the close of every inherited pipe: what the background child prints later is not in it."""
    command = ["sh", "-c", "(sleep 6; echo late) & echo started"]
    assert app_server.request("command/exec", exec_params(command)) == {
        "exitCode": 0,
        "stdout": "started\n",
        "stderr": "",
    }


def test_a_signal_is_reported_as_128_plus_its_number(app_server: Client) -> None:
    assert app_server.request("command/exec", exec_params(["sh", "-c", "kill -TERM $$"]))["exitCode"] == 143


def test_the_output_cap_truncates_each_stream(app_server: Client) -> None:
    script = "printf aaaaaaaaaa; printf bbbbbbb >&2"
    assert app_server.request("command/exec", exec_params(["sh", "-c", script], outputBytesCap=4)) == {
        "exitCode": 0,
        "stdout": "aaaa",
        "stderr": "bbbb",
    }


def test_the_streamed_chunk_that_fills_the_cap_says_so_and_nothing_follows(app_server: Client) -> None:
    script = "printf abc; sleep 0.2; printf defgh; sleep 0.2; printf ijk"
    start(app_server, ["sh", "-c", script], processId="capped", streamStdoutStderr=True, outputBytesCap=5).result(30)
    assert [(base64.b64decode(p["deltaBase64"]), p["capReached"]) for p in Deltas(app_server).params()] == [
        (b"abc", False),
        (b"de", True),
    ]


def test_a_zero_cap_streams_one_empty_chunk_that_reached_it(app_server: Client) -> None:
    start(app_server, ["printf", "abc"], processId="zero", streamStdoutStderr=True, outputBytesCap=0).result(30)
    assert Deltas(app_server).params() == [
        {"processId": "zero", "stream": "stdout", "deltaBase64": "", "capReached": True}
    ]


def test_the_default_cap_is_one_mebibyte_and_can_be_disabled(app_server: Client) -> None:
    command = ["sh", "-c", "head -c 1100000 /dev/zero | tr '\\0' a"]
    assert len(app_server.request("command/exec", exec_params(command))["stdout"]) == 1024 * 1024
    assert len(app_server.request("command/exec", exec_params(command, disableOutputCap=True))["stdout"]) == 1100000


# ------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"command": []}, -32600, "command must not be empty"),
        ({}, -32600, "Invalid request: missing field `command`"),
        ({"command": "ls"}, -32600, 'Invalid request: invalid type: string "ls", expected a sequence'),
        ({"command": ["ls"], "tty": "yes"}, -32600, 'Invalid request: invalid type: string "yes", expected a boolean'),
        ({"command": ["ls"], "timeoutMs": "5"}, -32600, 'Invalid request: invalid type: string "5", expected i64'),
        (
            {"command": ["ls"], "outputBytesCap": -1},
            -32600,
            "Invalid request: invalid value: integer `-1`, expected usize",
        ),
        ({"command": ["ls"], "env": {"A": 5}}, -32600, "Invalid request: invalid type: integer `5`, expected a string"),
        (
            {"command": ["ls"], "sandboxPolicy": {"type": "nope"}},
            -32600,
            "Invalid request: unknown variant `nope`, expected one of `dangerFullAccess`, `readOnly`, "
            "`externalSandbox`, `workspaceWrite`",
        ),
        ({"command": ["ls"], "sandboxPolicy": {}}, -32600, "Invalid request: missing field `type`"),
        ({"command": [], "timeoutMs": -1}, -32600, "command must not be empty"),
        ({"command": ["ls"], "size": {"rows": 0, "cols": 2}}, -32602, "command/exec size requires tty: true"),
        (
            {"command": ["ls"], "tty": True, "size": {"rows": 0, "cols": 2}},
            -32602,
            "command/exec size rows and cols must be greater than 0",
        ),
        (
            {"command": ["ls"], "timeoutMs": -1, "disableTimeout": True},
            -32602,
            "command/exec cannot set both timeoutMs and disableTimeout",
        ),
        (
            {"command": ["ls"], "outputBytesCap": 5, "disableOutputCap": True},
            -32602,
            "command/exec cannot set both outputBytesCap and disableOutputCap",
        ),
        ({"command": ["ls"], "timeoutMs": -5}, -32602, "command/exec timeoutMs must be non-negative, got -5"),
        (
            {"command": ["ls"], "streamStdin": True},
            -32600,
            "command/exec tty or streaming requires a client-supplied processId",
        ),
        (
            {"command": ["ls"], "tty": True},
            -32600,
            "command/exec tty or streaming requires a client-supplied processId",
        ),
    ],
)
def test_bad_exec_params_are_refused(app_server: Client, params: dict[str, Any], code: int, message: str) -> None:
    error = rejected(app_server, "command/exec", params)
    # Ours names the offending field after a type error (" at `tty`"); upstream's serde message stops before.
    assert (error.code, error.message.partition(" at `")[0]) == (code, message)


@pytest.mark.parametrize(
    ("config_toml", "profile", "message"),
    [
        ("", "work", "default_permissions requires a `[permissions]` table"),
        ("", ":bogus", "default_permissions refers to unknown built-in profile `:bogus`"),
        ("[permissions.work]\n", "nope", "default_permissions refers to undefined profile `nope`"),
        (
            "[permissions.work]\n",
            ":workspace-write",
            "default_permissions refers to unknown built-in profile `:workspace-write`",
        ),
    ],
)
def test_a_permission_profile_must_exist(
    app_server_factory: AppServerFactory, config_toml: str, profile: str, message: str
) -> None:
    client = app_server_factory(config_toml=config_toml, experimental_api=True)
    error = rejected(client, "command/exec", {"command": ["true"], "permissionProfile": profile})
    assert (error.code, error.message) == (-32600, f"invalid permission profile: {message}")


def test_a_built_in_permission_profile_is_accepted(app_server: Client) -> None:
    result = app_server.request("command/exec", {"command": ["echo", "ok"], "permissionProfile": ":danger-full-access"})
    assert result == {"exitCode": 0, "stdout": "ok\n", "stderr": ""}


def test_a_permission_profile_excludes_a_sandbox_policy(app_server: Client) -> None:
    error = rejected(app_server, "command/exec", exec_params(["true"], permissionProfile=":danger-full-access"))
    assert (error.code, error.message) == (-32600, "`permissionProfile` cannot be combined with `sandboxPolicy`")


def test_a_permission_profile_needs_the_experimental_api(app_server_factory: AppServerFactory) -> None:
    """Checked before anything else in the params, even an empty command; the rest of command/exec is stable."""
    client = app_server_factory(experimental_api=False)
    error = rejected(client, "command/exec", {"command": [], "permissionProfile": ":danger-full-access"})
    assert (error.code, error.message) == (-32600, "command/exec.permissionProfile requires experimentalApi capability")
    assert client.request("command/exec", {"command": ["true"], "permissionProfile": None})["exitCode"] == 0


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["/nonexistent/program"], "failed to spawn command: No such file or directory (os error 2)"),
        ([""], "failed to spawn command: missing program for pipe spawn"),
    ],
)
def test_a_command_that_cannot_start_is_an_internal_error(app_server: Client, command: list[str], message: str) -> None:
    error = rejected(app_server, "command/exec", exec_params(command))
    assert (error.code, error.message) == (-32603, message)


def test_a_missing_working_directory_is_an_internal_error(app_server: Client) -> None:
    error = rejected(app_server, "command/exec", exec_params(["ls"], cwd="/nonexistent/directory"))
    assert (error.code, error.message) == (-32603, "failed to spawn command: No such file or directory (os error 2)")


def test_a_tty_with_a_missing_working_directory_runs_in_the_servers(app_server: Client) -> None:
    """Upstream's pty spawn ignores a directory it cannot enter (its pipe spawn refuses it, test above)."""
    running = start(app_server, ["pwd"], processId="nowhere", tty=True, cwd="/nonexistent/directory")
    assert running.result(30)["exitCode"] == 0
    assert app_server.codex_home is not None
    assert Deltas(app_server).output("nowhere") == f"{app_server.codex_home.parent}\r\n".encode()


def test_a_process_id_is_unique_while_its_process_runs(app_server: Client) -> None:
    running = start(app_server, ["sleep", "30"], processId="dup")
    error = rejected(app_server, "command/exec", exec_params(["true"], processId="dup"))
    assert (error.code, error.message) == (-32600, 'duplicate active command/exec process id: "dup"')
    app_server.request("command/exec/terminate", {"processId": "dup"})
    assert running.result(30)["exitCode"] == 137


@pytest.mark.parametrize(
    ("method", "params", "code", "message"),
    [
        ("command/exec/write", {"processId": "nope"}, -32602, "command/exec/write requires deltaBase64 or closeStdin"),
        (
            "command/exec/write",
            {"processId": "nope", "deltaBase64": "!!"},
            -32602,
            "invalid deltaBase64: Invalid symbol 33, offset 0.",
        ),
        (
            "command/exec/write",
            {"processId": "nope", "closeStdin": True},
            -32600,
            'no active command/exec for process id "nope"',
        ),
        ("command/exec/write", {}, -32600, "Invalid request: missing field `processId`"),
        (
            "command/exec/write",
            {"processId": "x", "deltaBase64": 5},
            -32600,
            "Invalid request: invalid type: integer `5`, expected a string",
        ),
        ("command/exec/terminate", {}, -32600, "Invalid request: missing field `processId`"),
        (
            "command/exec/terminate",
            {"processId": 5},
            -32600,
            "Invalid request: invalid type: integer `5`, expected a string",
        ),
        ("command/exec/terminate", {"processId": "nope"}, -32600, 'no active command/exec for process id "nope"'),
        ("command/exec/resize", {"processId": "nope"}, -32600, "Invalid request: missing field `size`"),
        (
            "command/exec/resize",
            {"processId": "nope", "size": {"rows": 70000, "cols": 3}},
            -32600,
            "Invalid request: invalid value: integer `70000`, expected u16",
        ),
        (
            "command/exec/resize",
            {"processId": "nope", "size": {"rows": 0, "cols": 3}},
            -32602,
            "command/exec size rows and cols must be greater than 0",
        ),
        (
            "command/exec/resize",
            {"processId": "nope", "size": {"rows": 3, "cols": 3}},
            -32600,
            'no active command/exec for process id "nope"',
        ),
    ],
)
def test_bad_follow_ups_are_refused(
    app_server: Client, method: str, params: dict[str, Any], code: int, message: str
) -> None:
    error = rejected(app_server, method, params)
    assert (error.code, error.message.partition(" at `")[0]) == (code, message)


def test_follow_ups_that_do_not_fit_the_running_process_are_refused(app_server: Client) -> None:
    running = start(app_server, ["sleep", "30"], processId="plain")
    resize = rejected(app_server, "command/exec/resize", {"processId": "plain", "size": {"rows": 4, "cols": 4}})
    assert (resize.code, resize.message) == (-32600, "failed to resize PTY: process is not attached to a PTY")
    write = rejected(app_server, "command/exec/write", {"processId": "plain", "deltaBase64": b64(b"x")})
    assert (write.code, write.message) == (-32600, "stdin streaming is not enabled for this command/exec")
    app_server.request("command/exec/terminate", {"processId": "plain"})
    running.result(30)


def test_writing_after_stdin_was_closed_is_refused(app_server: Client) -> None:
    running = start(app_server, ["sh", "-c", "cat; sleep 30"], processId="closed", streamStdin=True)
    app_server.request("command/exec/write", {"processId": "closed", "closeStdin": True})
    write = rejected(app_server, "command/exec/write", {"processId": "closed", "deltaBase64": b64(b"x")})
    assert (write.code, write.message) == (-32600, "stdin is already closed")
    # Closing again, or writing nothing, is not an error.
    assert app_server.request("command/exec/write", {"processId": "closed", "closeStdin": True}) == {}
    assert app_server.request("command/exec/write", {"processId": "closed", "deltaBase64": ""}) == {}
    app_server.request("command/exec/terminate", {"processId": "closed"})
    assert running.result(30)["exitCode"] == 137


# ------------------------------------------------------------------------------------------- raw stream


def test_on_the_wire_the_deltas_come_before_the_response(app_server_kind: str, tmp_path: Path) -> None:
    """Read the server's stdout as written: each delta is out while the process runs, the response last."""
    home = tmp_path / "codex"
    home.mkdir()
    server = subprocess.Popen(
        server_command(app_server_kind),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=default_env(home),
        cwd=tmp_path,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        init = {"clientInfo": {"name": "raw", "version": "1"}, "capabilities": {"experimentalApi": True}}
        script = "echo one; sleep 0.3; echo two"
        params = exec_params(["sh", "-c", script], processId="raw", streamStdoutStderr=True)
        for message in ({"id": 0, "method": "initialize", "params": init}, {"method": "initialized"}):
            server.stdin.write(json.dumps(message).encode() + b"\n")
        server.stdin.write(json.dumps({"id": 1, "method": "command/exec", "params": params}).encode() + b"\n")
        server.stdin.flush()
        order: list[str] = []
        for _ in range(50):  # bounded: a handful of lines are expected
            line = server.stdout.readline()
            assert line, f"the server closed its output after {order}"
            message = json.loads(line)
            if message.get("method") == DELTA:
                order.append(base64.b64decode(message["params"]["deltaBase64"]).decode().strip())
            elif message.get("id") == 1:
                order.append("response")
                break
        assert order == ["one", "two", "response"]
    finally:
        server.kill()
        server.wait()


# ------------------------------------------------------------------------------------------- known differences


def test_without_a_sandbox_policy_ours_runs_unsandboxed(
    app_server: Client, app_server_kind: str, tmp_path: Path
) -> None:
    """Upstream runs such a command under the user's configured sandbox (read-only by default), so it
    cannot write; this compact server has no sandbox and runs every command with the server's rights."""
    result = app_server.request("command/exec", {"command": ["sh", "-c", "echo x > written"], "cwd": str(tmp_path)})
    if app_server_kind == "codex":
        assert result["exitCode"] != 0
        assert not (tmp_path / "written").exists()
    else:
        assert result["exitCode"] == 0
        assert (tmp_path / "written").read_text() == "x\n"


def test_disabling_the_output_cap_still_keeps_a_bounded_amount(app_server: Client, app_server_kind: str) -> None:
    """Upstream keeps all of it; ours keeps 8 MiB per stream, so that a client's opt-out cannot grow the
    server's memory (or one response past what a connection may queue) without limit."""
    command = ["sh", "-c", "head -c 9437184 /dev/zero | tr '\\0' a"]
    stdout = app_server.request("command/exec", exec_params(command, disableOutputCap=True), timeout=60)["stdout"]
    assert len(stdout) == (9 * 1024 * 1024 if app_server_kind == "codex" else 8 * 1024 * 1024)


def test_process_ids_belong_to_their_connection(ws_server_factory: Callable[..., WebSocketServer]) -> None:
    """Two websocket clients of one server may use the same processId; a follow-up reaches only its own."""
    server = ws_server_factory()
    first, second = server.connect(), server.connect()
    running = start(first, ["sleep", "30"], processId="same")
    other = start(second, ["sleep", "30"], processId="same")
    assert second.request("command/exec/terminate", {"processId": "same"}) == {}
    assert other.result(30)["exitCode"] == 137
    assert first.request("command/exec/terminate", {"processId": "same"}) == {}  # still running: found
    assert running.result(30)["exitCode"] == 137
