"""Thread behaviour that only our server has a contract for: the `shell` function tool with approvals
(upstream 0.163 exposes commands through a JavaScript code-mode tool instead) and `--session-source`
(upstream has no such flag). They speak the protocol, but not upstream's tool interface."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codex_app_harness import Client
from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.websocket_server import WebSocketServer
from fixtures.responses_api import ResponsesApiStub, function_call, text_reply
from tests.integration.test_dynamic_tools import NAMESPACE, start
from tests.integration.test_threads import new_thread, run_turn

APPROVAL = "item/commandExecution/requestApproval"


def ours(factory: AppServerFactory, model: ResponsesApiStub, *args: str) -> Client:
    client = factory(config_toml=model.config_toml(), args=args)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test"})
    return client


def tool_output(request: Any) -> list[str]:
    return [item["output"] for item in request.body["input"] if item.get("type") == "function_call_output"]


def test_approved_command_runs_and_its_output_goes_back_to_the_model(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = ours(app_server_factory, model)
    asked: list[dict[str, Any]] = []
    client.respond_to(
        "item/commandExecution/requestApproval", lambda params: asked.append(params) or {"decision": "accept"}
    )
    thread_id = new_thread(client, tmp_path)
    model.enqueue(function_call("shell", {"command": ["echo", "approved-output"]}), text_reply("done"))
    turn = run_turn(client, thread_id, "run it")
    assert turn["status"] == "completed"
    item = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "commandExecution"})["item"]
    assert (item["status"], item["exitCode"], item["aggregatedOutput"]) == ("completed", 0, "approved-output\n")
    assert asked
    assert asked[0]["itemId"] == item["id"]
    assert asked[0]["command"] == "echo approved-output"
    followup = model.wait_for_posts(2)[-1]
    assert any("approved-output" in output for output in tool_output(followup))


def model_touches_a_file(
    factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path, decision: str
) -> tuple[Client, dict[str, Any], Path]:
    """A turn whose model asks to `touch` a marker and whose client answers the approval with `decision`."""
    client = ours(factory, model)
    client.respond_to("item/commandExecution/requestApproval", {"decision": decision})
    marker = tmp_path / "must-not-exist"
    thread_id = new_thread(client, tmp_path)
    model.enqueue(function_call("shell", {"command": ["touch", str(marker)]}), text_reply("ok"))
    return client, run_turn(client, thread_id, "try it"), marker


def test_declined_command_does_not_run_and_the_model_is_told(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client, turn, marker = model_touches_a_file(app_server_factory, model, tmp_path, "decline")
    item = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "commandExecution"})["item"]
    assert item["status"] == "declined"
    assert not marker.exists()
    assert any("declined" in output for output in tool_output(model.wait_for_posts(2)[-1]))


def test_cancel_declines_the_command_and_interrupts_the_turn(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client, turn, marker = model_touches_a_file(app_server_factory, model, tmp_path, "cancel")
    assert turn["status"] == "interrupted"
    assert not marker.exists()
    client.settle()
    assert len(model.posts()) == 1  # the model is not called back after a cancel


def test_approval_policy_never_runs_without_asking(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = ours(app_server_factory, model)
    thread_id = client.request("thread/start", {"cwd": str(tmp_path), "approvalPolicy": "never"})["thread"]["id"]
    model.enqueue(function_call("shell", {"command": ["echo", "unasked"]}), text_reply("ok"))
    turn = run_turn(client, thread_id, "go")
    item = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "commandExecution"})["item"]
    assert item["aggregatedOutput"] == "unasked\n"
    assert client.inner.buffered("item/commandExecution/requestApproval") == []


def test_shell_tool_is_offered_to_the_model(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = ours(app_server_factory, model)
    thread_id = new_thread(client, tmp_path)
    model.enqueue(text_reply("hi"))
    run_turn(client, thread_id, "hello")
    assert model.wait_for_posts(1)[0].tool_names() == ["shell", "collaboration"]


def test_session_source_is_recorded_and_filterable(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = ours(app_server_factory, model, "--session-source", "myclient")
    thread = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]
    assert thread["source"] == {"custom": "myclient"}
    model.enqueue(text_reply("ok"))
    run_turn(client, thread["id"], "hi")
    assert [t["id"] for t in client.request("thread/list", {})["data"]] == [thread["id"]]
    assert [t["id"] for t in client.request("thread/list", {"sourceKinds": ["appServer"]})["data"]] == [thread["id"]]
    assert client.request("thread/list", {"sourceKinds": ["vscode"]})["data"] == []


def test_a_torn_last_rollout_line_is_tolerated_on_resume(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    first = ours(app_server_factory, model)
    thread = first.request("thread/start", {"cwd": str(tmp_path)})["thread"]
    model.enqueue(text_reply("kept"))
    run_turn(first, thread["id"], "hi")
    home = first.codex_home
    first.close()
    with Path(thread["path"]).open("a") as rollout:
        rollout.write(json.dumps({"type": "item", "turnId": "x", "item": {}})[:20])
    second = app_server_factory(codex_home=home)
    resumed = second.request("thread/resume", {"threadId": thread["id"]})["thread"]
    assert [t["status"] for t in resumed["turns"]] == ["completed"]
    assert any("torn line" in line for line in second.stderr)


def test_deferred_tool_stays_callable(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    """Upstream reaches deferred tools only from its JavaScript code-mode runtime ("unsupported call" when
    the model names one directly); ours offers no code mode, so the model may call it by namespaced name."""
    client, thread_id = start(app_server_factory, model, tmp_path, [NAMESPACE])
    client.respond_to("item/tool/call", {"contentItems": [{"type": "inputText", "text": "HIDDEN-OK"}], "success": True})
    model.enqueue(function_call("extras__hidden_lookup", {"key": "k"}, call_id="call_h"), text_reply("done"))
    turn = run_turn(client, thread_id, "use the hidden tool")
    item = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "dynamicToolCall"})["item"]
    assert item["tool"] == "hidden_lookup"
    assert item["namespace"] == "extras"
    outputs = [i for i in model.wait_for_posts(2)[-1].body["input"] if i.get("type") == "function_call_output"]
    assert [o["output"] for o in outputs] == ["HIDDEN-OK"]


def test_an_approval_goes_to_the_connection_that_started_the_turn(
    ws_server_factory: Callable[..., WebSocketServer], model: ResponsesApiStub, tmp_path: Path
) -> None:
    """Two connections follow one thread; only the one whose turn/start began the turn is asked, so an
    observer (another window on the same thread) can neither approve nor decline someone else's command."""
    server = ws_server_factory(args=["-c", f'openai_base_url="{model.base_url}"'])
    starter = server.connect(experimental_api=True)
    starter.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test"})
    thread_id = new_thread(starter, tmp_path)
    observer = server.connect(experimental_api=True)
    observer.request("thread/resume", {"threadId": thread_id})
    asked_starter: list[dict[str, Any]] = []
    asked_observer: list[dict[str, Any]] = []
    starter.respond_to(APPROVAL, lambda params: asked_starter.append(params) or {"decision": "accept"})
    observer.respond_to(APPROVAL, lambda params: asked_observer.append(params) or {"decision": "decline"})
    model.enqueue(function_call("shell", {"command": ["echo", "started-here"]}), text_reply("done"))
    turn = run_turn(starter, thread_id, "run it")
    item = starter.wait_for("item/completed", turnId=turn["id"], **{"item.type": "commandExecution"})["item"]
    assert item["status"] == "completed"
    assert [params["itemId"] for params in asked_starter] == [item["id"]]
    assert asked_observer == []
