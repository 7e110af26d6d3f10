"""Automatic review of our own `shell` function tool. Ours only: upstream 0.163 offers commands through its
code-mode tool and `exec_command`, not through a `shell` function (tests/integration/test_guardian.py
covers `exec_command` against both servers)."""

from __future__ import annotations

from pathlib import Path

from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, function_call, text_reply
from tests.integration.test_guardian import command_item, reviewed, start, verdict
from tests.integration.test_threads import run_turn


def test_shell_command_reviewed_and_approved_runs(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start(app_server_factory, model)
    marker = tmp_path / "shell-marker"
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    model.enqueue(
        function_call("shell", {"command": ["touch", str(marker)]}, call_id="call_sh"),
        verdict(risk_level="low", user_authorization="high", outcome="allow", rationale="asked for"),
        text_reply("done"),
    )
    turn = run_turn(client, thread_id, "touch it")
    started = client.wait_for("item/started", turnId=turn["id"], **{"item.type": "commandExecution"})["item"]
    _, completed = reviewed(client, thread_id, started["id"])
    assert completed["action"]["source"] == "shell"
    assert completed["review"]["status"] == "approved"
    assert command_item(client, turn["id"], started["id"])["status"] == "completed"
    assert marker.exists()
