"""The patched zsh's EXEC_WRAPPER approval bridge, end to end with the real static build.

With `zsh_path` configured, `!` commands and the model's `exec_command` scripts run under the patched zsh,
and each program it execs is approved on its own (server.threads.exec_approval holds the rules). Ours only:
upstream 0.163 has no `zsh_path` key.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, function_call, text_reply
from release.zsh.shared import HostBuild
from server.threads import exec_wrapper
from server.threads.exec_bridge import ExecBridge, ExecDecision, ExecRequest
from tests.integration.test_guardian import verdict
from tests.integration.test_threads import run_turn

APPROVAL = "item/commandExecution/requestApproval"


@pytest.fixture
def zsh_server(app_server_factory: AppServerFactory, model: ResponsesApiStub, host_zsh: HostBuild) -> Client:
    config = model.config_toml() + f"zsh_path = {json.dumps(str(host_zsh.zsh))}\n"
    client = app_server_factory(config_toml=config)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test"})
    return client


def start_thread(client: Client, cwd: Path, policy: str) -> str:
    thread_id: str = client.request("thread/start", {"cwd": str(cwd), "approvalPolicy": policy})["thread"]["id"]
    return thread_id


def shell_command(client: Client, thread_id: str, command: str) -> dict[str, Any]:
    """Run a `!` command; returns its completed commandExecution item."""
    client.request("thread/shellCommand", {"threadId": thread_id, "command": command})
    done = client.wait_for("item/completed", threadId=thread_id, **{"item.type": "commandExecution"})
    client.wait_for("turn/completed", threadId=thread_id, **{"turn.id": done["turnId"]})
    item: dict[str, Any] = done["item"]
    return item


def recording(asked: list[dict[str, Any]], decide: dict[str, str]) -> Any:
    """A responder that records each approval and answers by the program's name (argv0)."""

    def respond(params: dict[str, Any]) -> dict[str, str]:
        asked.append(params)
        return {"decision": decide[params["command"].split()[0]]}

    return respond


def programs(asked: list[dict[str, Any]]) -> list[str]:
    return [params["command"].split()[0] for params in asked]


def test_untrusted_user_command_asks_per_program_and_a_decline_stops_only_that_exec(
    zsh_server: Client, tmp_path: Path
) -> None:
    asked: list[dict[str, Any]] = []
    zsh_server.respond_to(APPROVAL, recording(asked, {"touch": "decline"}))
    thread_id = start_thread(zsh_server, tmp_path, "untrusted")
    item = shell_command(zsh_server, thread_id, "ls >/dev/null && touch made; echo exit=$?")
    assert not (tmp_path / "made").exists()
    assert "codex: the user declined to run" in item["aggregatedOutput"]
    assert "exit=126" in item["aggregatedOutput"]
    # `ls` is known safe and `echo` is a builtin: only touch was asked about, once, under this item.
    assert programs(asked) == ["touch"]
    (params,) = asked
    assert params["itemId"] == item["id"]
    assert params["threadId"] == thread_id
    assert params["cwd"] == str(tmp_path)
    assert len(params["approvalId"]) == 36  # a UUID, distinct per exec


def test_accept_runs_the_program_and_accept_for_session_stops_asking_for_it(zsh_server: Client, tmp_path: Path) -> None:
    asked: list[dict[str, Any]] = []
    zsh_server.respond_to(APPROVAL, recording(asked, {"touch": "acceptForSession", "mkdir": "accept"}))
    thread_id = start_thread(zsh_server, tmp_path, "untrusted")
    item = shell_command(zsh_server, thread_id, "touch a; touch b; mkdir d1; mkdir d2")
    assert item["exitCode"] == 0, item["aggregatedOutput"]
    assert {p.name for p in tmp_path.iterdir()} == {"a", "b", "d1", "d2"}
    assert sorted(programs(asked)) == ["mkdir", "mkdir", "touch"]
    assert len({params["approvalId"] for params in asked}) == 3
    shell_command(zsh_server, thread_id, "touch c")
    assert sorted(programs(asked)) == ["mkdir", "mkdir", "touch"]  # remembered for the thread


def test_user_commands_under_on_request_run_unasked_but_through_the_wrapper(
    zsh_server: Client, host_zsh: HostBuild, tmp_path: Path
) -> None:
    thread_id = start_thread(zsh_server, tmp_path, "on-request")
    item = shell_command(zsh_server, thread_id, "printenv EXEC_WRAPPER")
    assert item["command"].split()[:2] == [str(host_zsh.zsh), "-lc"]
    wrapper = Path(item["aggregatedOutput"].strip())
    assert wrapper.name == "exec-wrapper"
    assert not wrapper.parent.exists()  # the bridge's private directory goes with the command
    assert zsh_server.inner.buffered(APPROVAL) == []


def test_model_scripts_run_under_the_patched_zsh_and_are_approved_per_program(
    zsh_server: Client, model: ResponsesApiStub, tmp_path: Path
) -> None:
    asked: list[dict[str, Any]] = []
    zsh_server.respond_to(APPROVAL, recording(asked, {"touch": "accept"}))
    thread_id = start_thread(zsh_server, tmp_path, "on-request")
    script = "ls >/dev/null && touch from-model && echo done-here"
    model.enqueue(function_call("exec_command", {"cmd": script}, call_id="call_z"), text_reply("ok"))
    turn = run_turn(zsh_server, thread_id, "make a file")
    item = zsh_server.wait_for("item/completed", turnId=turn["id"], **{"item.type": "commandExecution"})["item"]
    assert item["id"] == "call_z"
    assert item["exitCode"] == 0
    assert (tmp_path / "from-model").exists()
    # No approval of the script as a whole: one per program, for touch only.
    assert programs(asked) == ["touch"]
    outputs = [
        i["output"] for i in model.wait_for_posts(2)[-1].body["input"] if i.get("type") == "function_call_output"
    ]
    assert outputs == ["Exit code: 0\nOutput:\ndone-here\n"]


def test_interrupt_while_an_exec_waits_for_approval_ends_the_turn_and_cleans_up(
    zsh_server: Client, tmp_path: Path
) -> None:
    thread_id = start_thread(zsh_server, tmp_path, "untrusted")
    zsh_server.request("thread/shellCommand", {"threadId": thread_id, "command": "touch never"})
    pending = zsh_server.wait_for_server_request(APPROVAL, threadId=thread_id)
    zsh_server.request("turn/interrupt", {"threadId": thread_id, "turnId": pending.params["turnId"]})
    done = zsh_server.wait_for("turn/completed", threadId=thread_id, **{"turn.id": pending.params["turnId"]})
    assert done["turn"]["status"] == "interrupted"
    pending.respond({"decision": "accept"})  # too late: the bridge is gone, nothing runs
    zsh_server.settle()
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------------------- the wrapper and bridge alone


def run_wrapper(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(exec_wrapper.__file__)
    return subprocess.run(
        [sys.executable, "-I", "-S", str(script), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_wrapper_refuses_without_a_bridge(tmp_path: Path) -> None:
    marker = tmp_path / "x"
    unset = run_wrapper("/usr/bin/touch", "touch", str(marker), env={"PATH": os.environ["PATH"]})
    gone = run_wrapper(
        "/usr/bin/touch",
        "touch",
        str(marker),
        env={"PATH": os.environ["PATH"], exec_wrapper.SOCKET_ENV: str(tmp_path / "no.sock")},
    )
    assert (unset.returncode, gone.returncode) == (126, 126)
    assert "CODEX_EXEC_BRIDGE_SOCKET is not set" in unset.stderr
    assert "the approval bridge did not answer" in gone.stderr
    assert not marker.exists()


def test_bridge_passes_each_exec_to_decide_and_answers_malformed_requests_with_a_refusal(tmp_path: Path) -> None:
    seen: list[ExecRequest] = []

    async def decide(request: ExecRequest) -> ExecDecision:
        seen.append(request)
        return ExecDecision(request.argv[0] == "echo", "no")

    async def scenario() -> tuple[list[subprocess.CompletedProcess[str]], bytes, int]:
        async with ExecBridge(decide) as bridge:
            env = {"PATH": os.environ["PATH"], **bridge.env()}
            allowed = await asyncio.to_thread(run_wrapper, "/bin/echo", "echo", "hi", env=env)
            refused = await asyncio.to_thread(run_wrapper, "/usr/bin/touch", "touch", str(tmp_path / "t"), env=env)
            reader, writer = await asyncio.open_unix_connection(bridge.env()[exec_wrapper.SOCKET_ENV])
            writer.write(b"only-a-cwd")
            writer.write_eof()
            malformed = await reader.read()
            writer.close()
            mode = Path(bridge.env()["EXEC_WRAPPER"]).parent.stat().st_mode & 0o777
        return [allowed, refused], malformed, mode

    (allowed, refused), malformed, mode = asyncio.run(scenario())
    assert (allowed.returncode, allowed.stdout) == (0, "hi\n")
    assert refused.returncode == 126
    assert refused.stderr == "codex: no\n"
    assert not (tmp_path / "t").exists()
    assert malformed == b"deny\0the exec wrapper sent a malformed request"
    assert mode == 0o700
    assert [(r.path, r.argv, r.cwd) for r in seen] == [
        ("/bin/echo", ["echo", "hi"], os.getcwd()),
        ("/usr/bin/touch", ["touch", str(tmp_path / "t")], os.getcwd()),
    ]


def test_the_automatic_reviewer_judges_each_program_of_a_model_script(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, host_zsh: HostBuild, tmp_path: Path
) -> None:
    config = model.config_toml() + f'zsh_path = {json.dumps(str(host_zsh.zsh))}\napprovals_reviewer = "auto_review"\n'
    client = app_server_factory(config_toml=config)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test"})
    thread_id = start_thread(client, tmp_path, "on-request")
    model.enqueue(
        function_call("exec_command", {"cmd": "ls >/dev/null; touch allowed; mkdir refused"}, call_id="call_r"),
        verdict(risk_level="low", user_authorization="high", outcome="allow", rationale="asked for"),
        verdict(risk_level="high", user_authorization="low", outcome="deny", rationale="not asked for"),
        text_reply("ok"),
    )
    turn = run_turn(client, thread_id, "go")

    def review_of(program: str) -> dict[str, Any]:
        review: dict[str, Any] = client.wait_for(
            "item/autoApprovalReview/completed", threadId=thread_id, where=lambda p: program in p["action"]["command"]
        )
        return review

    first, second = review_of("touch"), review_of("mkdir")
    assert (first["review"]["status"], second["review"]["status"]) == ("approved", "denied")
    assert first["targetItemId"] == second["targetItemId"] == "call_r"
    assert (tmp_path / "allowed").exists()
    assert not (tmp_path / "refused").exists()
    item = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "commandExecution"})["item"]
    assert item["exitCode"] == 126
    assert client.inner.buffered(APPROVAL) == []  # nobody but the reviewer was asked


def test_cancel_declines_the_exec_and_interrupts_the_turn(zsh_server: Client, tmp_path: Path) -> None:
    zsh_server.respond_to(APPROVAL, {"decision": "cancel"})
    thread_id = start_thread(zsh_server, tmp_path, "untrusted")
    zsh_server.request("thread/shellCommand", {"threadId": thread_id, "command": "touch first; touch second"})
    done = zsh_server.wait_for("turn/completed", threadId=thread_id)
    assert done["turn"]["status"] == "interrupted"
    assert not (tmp_path / "first").exists()
    assert not (tmp_path / "second").exists()  # the rest of the script does not go on after a cancel
