"""Client-implemented tools: registered at thread/start, called through `item/tool/call`.

Runs against ours and upstream (upstream describes the tools inside its code-mode tool instead of a
top-level list, so the checks look at the whole request body, not at one field)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, function_call, text_reply
from tests.integration.test_threads import run_turn

LOOKUP = {
    "type": "function",
    "name": "lookup",
    "description": "Look a key up in the client's table.",
    "inputSchema": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
}
HIDDEN = {**LOOKUP, "name": "hidden_lookup", "deferLoading": True}
SHOWN = {**LOOKUP, "name": "shown_lookup"}
NAMESPACE = {"type": "namespace", "name": "extras", "description": "More tools.", "tools": [SHOWN, HIDDEN]}


def start(factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path, tools: list[Any]) -> tuple[Any, str]:
    client = factory(config_toml=model.config_toml(), experimental_api=True)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-tools"})
    thread = client.request("thread/start", {"cwd": str(tmp_path), "dynamicTools": tools})["thread"]
    return client, thread["id"]


def test_dynamic_tool_round_trip(app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path) -> None:
    client, thread_id = start(app_server_factory, model, tmp_path, [LOOKUP])
    calls: list[dict[str, Any]] = []

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(params)
        return {"contentItems": [{"type": "inputText", "text": "LOOKUP-RESULT-42"}], "success": True}

    client.respond_to("item/tool/call", answer)
    model.enqueue(function_call("lookup", {"key": "alpha"}, call_id="call_1"), text_reply("got it"))
    turn = run_turn(client, thread_id, "look alpha up")
    assert turn["status"] == "completed"
    assert calls[0]["tool"] == "lookup"
    assert calls[0]["callId"] == "call_1"
    assert calls[0]["arguments"] == {"key": "alpha"}
    item = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "dynamicToolCall"})["item"]
    assert (item["id"], item["status"], item["success"]) == ("call_1", "completed", True)
    assert item["contentItems"] == [{"type": "inputText", "text": "LOOKUP-RESULT-42"}]
    followup = model.wait_for_posts(2)[-1]
    outputs = [i for i in followup.body["input"] if i.get("type") == "function_call_output"]
    assert [(o["call_id"], o["output"]) for o in outputs] == [("call_1", "LOOKUP-RESULT-42")]


def test_deferred_tool_is_hidden_from_the_model_but_visible_ones_are_offered(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client, thread_id = start(app_server_factory, model, tmp_path, [LOOKUP, NAMESPACE])
    model.enqueue(text_reply("hi"))
    run_turn(client, thread_id, "hello")
    body = json.dumps(model.wait_for_posts(1)[0].body)
    assert "lookup" in body
    assert "shown_lookup" in body
    assert "hidden_lookup" not in body


def test_deferred_tool_outside_a_namespace_is_rejected(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = app_server_factory(config_toml=model.config_toml(), experimental_api=True)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("thread/start", {"cwd": str(tmp_path), "dynamicTools": [{**LOOKUP, "deferLoading": True}]})
    assert excinfo.value.code == -32600
    assert excinfo.value.message == "deferred dynamic tool must include a namespace: lookup"
