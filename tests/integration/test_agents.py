"""Agent paths: `/root` spawns sub-agents through the `collaboration` tools and messages them by path.

Runs against ours and upstream (multi-agent v2 is on by default there, protocol notes section 14). The
root and its sub-agents call the model concurrently, so the stand-in answers each agent from its own
script, recognising a sub-agent's request by the task message addressed to it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import (
    RecordedRequest,
    ResponsesApiStub,
    ScriptedResponse,
    completed,
    function_call_events,
    text_reply,
)
from tests.integration.test_threads import run_turn

ROOT = "/root"


def agent_of(body: dict[str, Any] | None) -> str:
    """Which agent sent a request: the recipient of the first task message in its input, else the root."""
    for item in (body or {}).get("input", []):
        if item.get("type") != "agent_message":
            continue
        first = (item.get("content") or [{}])[0].get("text", "")
        if first.startswith("Message Type: NEW_TASK"):
            return str(item.get("recipient"))
    return ROOT


class AgentModel(ResponsesApiStub):
    """The stand-in with one script per agent path."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: dict[str, deque[ScriptedResponse]] = {}
        self.seen: dict[str, list[RecordedRequest]] = {}
        self._seen_lock = threading.Lock()

    def script(self, agent: str, *responses: ScriptedResponse) -> None:
        with self._lock:
            self.scripts.setdefault(agent, deque()).extend(responses)

    def _record(self, request: RecordedRequest) -> ScriptedResponse | None:
        if request.method == "POST":
            agent = agent_of(request.body)
            with self._arrived:
                self.requests.append(request)
                self.seen.setdefault(agent, []).append(request)
                self._arrived.notify_all()
                queue = self.scripts.get(agent)
                if queue:
                    return queue.popleft()
            return text_reply(f"{agent} idle")
        return super()._record(request)

    def requests_of(self, agent: str, count: int, timeout: float = 20.0) -> list[RecordedRequest]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.seen.get(agent, [])) >= count, timeout)
            seen = list(self.seen.get(agent, []))
        if len(seen) < count:
            raise AssertionError(f"expected {count} requests from {agent}, got {len(seen)}")
        return seen


@pytest.fixture
def model() -> Iterator[AgentModel]:
    with AgentModel() as stub:
        yield stub


def collab(*calls: tuple[str, dict[str, Any], str]) -> ScriptedResponse:
    """One model response calling `collaboration` tools: (tool, arguments, call id) each."""
    events: list[dict[str, Any]] = []
    for name, arguments, call_id in calls:
        for event in function_call_events(name, arguments, call_id=call_id):
            events.append({**event, "item": {**event["item"], "namespace": "collaboration"}})
    return ScriptedResponse(events=[*events, completed()])


def outputs(request: RecordedRequest) -> dict[str, str]:
    items = (request.body or {}).get("input", [])
    return {i["call_id"]: i["output"] for i in items if i.get("type") == "function_call_output"}


def agent_messages(request: RecordedRequest) -> list[dict[str, Any]]:
    return [i for i in (request.body or {}).get("input", []) if i.get("type") == "agent_message"]


def start(factory: AppServerFactory, model: AgentModel, cwd: Path) -> tuple[Client, str]:
    client = factory(config_toml=model.config_toml(), experimental_api=True)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-agents"})
    thread_id: str = client.request("thread/start", {"cwd": str(cwd)})["thread"]["id"]
    return client, thread_id


def spawn(name: str, message: str, call_id: str) -> tuple[str, dict[str, Any], str]:
    return ("spawn_agent", {"task_name": name, "message": message, "fork_turns": "none"}, call_id)


def test_spawned_agent_gets_its_path_and_its_answer_reaches_the_root(
    app_server_factory: AppServerFactory, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    model.script(
        ROOT,
        collab(spawn("agent_1", "CHILD-TASK", "c_spawn")),
        collab(("wait_agent", {"timeout_ms": 10000}, "c_wait")),
        text_reply("root done"),
    )
    model.script("/root/agent_1", text_reply("CHILD-ANSWER"))
    turn = run_turn(client, root_id, "delegate it")
    assert turn["status"] == "completed"
    root_requests = model.requests_of(ROOT, 3)
    assert outputs(root_requests[1])["c_spawn"] == '{"task_name":"/root/agent_1"}'
    started = client.wait_for(
        "item/completed", threadId=root_id, **{"item.type": "subAgentActivity", "item.id": "c_spawn"}
    )["item"]
    assert (started["kind"], started["agentPath"]) == ("started", "/root/agent_1")
    child_id = started["agentThreadId"]
    child_turn = client.wait_for("turn/completed", threadId=child_id)["turn"]
    assert child_turn["rootTurnId"] == turn["id"]
    task = agent_messages(model.requests_of("/root/agent_1", 1)[0])[0]
    assert (task["author"], task["recipient"]) == (ROOT, "/root/agent_1")
    assert task["content"][0]["text"] == "Message Type: NEW_TASK\nTask name: /root/agent_1\nSender: /root\nPayload:\n"
    assert task["content"][1] == {"type": "encrypted_content", "encrypted_content": "CHILD-TASK"}
    answers = [m for m in agent_messages(root_requests[-1]) if m["author"] == "/root/agent_1"]
    assert len(answers) == 1
    assert answers[0]["content"][0]["text"].startswith("Message Type: FINAL_ANSWER\n")
    assert answers[0]["content"][0]["text"].endswith("\nPayload:\nCHILD-ANSWER")
    child = client.request("thread/read", {"threadId": child_id})["thread"]
    assert child["parentThreadId"] == root_id
    assert child["source"]["subAgent"]["thread_spawn"]["agent_path"] == "/root/agent_1"


def test_agents_are_messaged_by_absolute_and_relative_path(
    app_server_factory: AppServerFactory, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    model.script(
        ROOT,
        collab(spawn("agent_1", "FIRST-TASK", "c_spawn")),
        collab(("wait_agent", {"timeout_ms": 10000}, "c_wait1")),
        collab(
            ("send_message", {"target": "/root/agent_1", "message": "MSG-ABSOLUTE"}, "c_abs"),
            ("send_message", {"target": "agent_1", "message": "MSG-RELATIVE"}, "c_rel"),
        ),
        collab(("followup_task", {"target": "agent_1", "message": "FOLLOWUP-TASK"}, "c_follow")),
        collab(("wait_agent", {"timeout_ms": 10000}, "c_wait2")),
        text_reply("root done"),
    )
    model.script("/root/agent_1", text_reply("first answer"), text_reply("second answer"))
    turn = run_turn(client, root_id, "delegate and follow up")
    assert turn["status"] == "completed"
    told = outputs(model.requests_of(ROOT, 6)[-1])
    assert (told["c_abs"], told["c_rel"], told["c_follow"]) == ("", "", "")
    for call_id in ("c_abs", "c_rel", "c_follow"):
        item = client.wait_for("item/completed", threadId=root_id, **{"item.id": call_id})["item"]
        assert (item["type"], item["kind"], item["agentPath"]) == ("subAgentActivity", "interacted", "/root/agent_1")
    followup = json.dumps(model.requests_of("/root/agent_1", 2)[-1].body)
    for text in ("MSG-ABSOLUTE", "MSG-RELATIVE", "FOLLOWUP-TASK"):
        assert text in followup
    listing = client.wait_for("item/completed", threadId=root_id, **{"item.id": "c_wait2"})["item"]
    assert (listing["type"], listing["tool"], listing["status"]) == ("collabAgentToolCall", "wait", "completed")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (("send_message", {"target": "/root/nope", "message": "x"}), "live agent path `/root/nope` not found"),
        (("send_message", {"target": "nope", "message": "x"}), "live agent path `/root/nope` not found"),
        (("followup_task", {"target": "/root/nope", "message": "x"}), "live agent path `/root/nope` not found"),
        (("spawn_agent", {"task_name": "bad/name", "message": "x"}), "agent_name must not contain `/`"),
        (("spawn_agent", {"task_name": "..", "message": "x"}), "agent_name `..` is reserved"),
        (
            ("spawn_agent", {"task_name": "Agent-Caps", "message": "x"}),
            "agent_name must use only lowercase letters, digits, and underscores",
        ),
        (("followup_task", {"target": "../agent_1", "message": "x"}), "agent_name `..` is reserved"),
        (("followup_task", {"target": "/root", "message": "x"}), "Follow-up tasks can't target the root agent"),
    ],
    ids=["abs-unknown", "rel-unknown", "followup-unknown", "slash", "dotdot", "caps", "followup-dotdot", "root"],
)
def test_invalid_names_and_unknown_paths_are_told_to_the_model(
    app_server_factory: AppServerFactory,
    model: AgentModel,
    tmp_path: Path,
    call: tuple[str, dict[str, Any]],
    expected: str,
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    model.script(ROOT, collab((*call, "c_bad")), text_reply("ok"))
    turn = run_turn(client, root_id, "try it")
    assert turn["status"] == "completed"
    assert outputs(model.requests_of(ROOT, 2)[-1])["c_bad"] == expected
    client.assert_no("item/started", within=0.2, where=lambda p: p["item"]["id"] == "c_bad")


def test_spawning_an_existing_path_is_refused(
    app_server_factory: AppServerFactory, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    model.script(
        ROOT,
        collab(spawn("agent_1", "ONE", "c_one")),
        collab(spawn("agent_1", "TWO", "c_two")),
        text_reply("ok"),
    )
    run_turn(client, root_id, "spawn twice")
    assert outputs(model.requests_of(ROOT, 3)[-1])["c_two"] == "agent path `/root/agent_1` already exists"


def test_collaboration_tools_need_their_namespace(
    app_server_factory: AppServerFactory, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    bare = ScriptedResponse(
        events=[*function_call_events("spawn_agent", {"task_name": "a", "message": "x"}, call_id="c_bare"), completed()]
    )
    model.script(ROOT, bare, text_reply("ok"))
    run_turn(client, root_id, "spawn without namespace")
    assert outputs(model.requests_of(ROOT, 2)[-1])["c_bare"] == "unsupported call: spawn_agent"


def test_resuming_a_sub_agent_thread(
    app_server_factory: AppServerFactory, app_server_kind: str, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    model.script(ROOT, collab(spawn("agent_1", "TASK", "c_spawn")), text_reply("root done"))
    model.script("/root/agent_1", text_reply("child done"))
    run_turn(client, root_id, "spawn")
    started = client.wait_for("item/completed", threadId=root_id, **{"item.id": "c_spawn"})["item"]
    child_id = started["agentThreadId"]
    client.wait_for("turn/completed", threadId=child_id)
    if app_server_kind == "codex":
        # upstream 0.163 resumes the child thread like any other (its "not supported" is about having no
        # resume_agent tool in v2); we refuse, because a sub-agent's turns belong to its parent's tree.
        resumed = client.request("thread/resume", {"threadId": child_id})
        assert resumed["thread"]["parentThreadId"] == root_id
        return
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("thread/resume", {"threadId": child_id})
    assert excinfo.value.code == -32600
    assert "sub-agent" in excinfo.value.message


def test_nested_agents_address_each_other_relative_to_themselves(
    app_server_factory: AppServerFactory, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    model.script(
        ROOT,
        collab(spawn("agent_1", "CHILD-TASK", "c_spawn")),
        collab(("wait_agent", {"timeout_ms": 10000}, "c_wait")),
        text_reply("root done"),
    )
    model.script(
        "/root/agent_1",
        collab(spawn("sub", "GRANDCHILD-TASK", "c_sub")),
        collab(
            ("send_message", {"target": "sub", "message": "TO-GRANDCHILD"}, "c_down"),
            ("send_message", {"target": "/root", "message": "TO-ROOT"}, "c_up"),
            ("send_message", {"target": "agent_1", "message": "x"}, "c_self_rel"),
        ),
        text_reply("child done"),
    )
    model.script("/root/agent_1/sub", text_reply("grandchild done"))
    turn = run_turn(client, root_id, "delegate deeply")
    assert turn["status"] == "completed"
    child_requests = model.requests_of("/root/agent_1", 3)
    assert outputs(child_requests[1])["c_sub"] == '{"task_name":"/root/agent_1/sub"}'
    told = outputs(child_requests[2])
    assert (told["c_down"], told["c_up"]) == ("", "")
    assert told["c_self_rel"] == "live agent path `/root/agent_1/agent_1` not found"
    started = client.wait_for("item/completed", **{"item.id": "c_sub"})["item"]
    assert started["agentPath"] == "/root/agent_1/sub"
    child_id = client.wait_for("item/completed", threadId=root_id, **{"item.id": "c_spawn"})["item"]["agentThreadId"]
    up = client.wait_for("item/completed", threadId=child_id, **{"item.id": "c_up"})["item"]
    assert (up["kind"], up["agentPath"]) == ("interacted", ROOT)
    grandchild_id = started["agentThreadId"]
    grandchild = client.request("thread/read", {"threadId": grandchild_id})["thread"]
    assert grandchild["parentThreadId"] == child_id
    root_seen = json.dumps([r.body for r in model.requests_of(ROOT, 3)])
    assert "TO-ROOT" in root_seen


def test_list_agents_reports_paths_and_status(
    app_server_factory: AppServerFactory, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    model.script(
        ROOT,
        collab(spawn("agent_1", "CHILD-TASK", "c_spawn")),
        collab(("wait_agent", {"timeout_ms": 10000}, "c_wait")),
        collab(("list_agents", {}, "c_all"), ("list_agents", {"path_prefix": "/root/agent_1"}, "c_prefix")),
        text_reply("root done"),
    )
    model.script("/root/agent_1", text_reply("LISTED-ANSWER"))
    run_turn(client, root_id, "list them")
    told = outputs(model.requests_of(ROOT, 4)[-1])
    everyone = json.loads(told["c_all"])["agents"]
    assert {"agent_name": ROOT, "agent_status": "running"} in everyone
    assert {"agent_name": "/root/agent_1", "agent_status": {"completed": "LISTED-ANSWER"}} in everyone
    assert json.loads(told["c_prefix"])["agents"] == [
        {"agent_name": "/root/agent_1", "agent_status": {"completed": "LISTED-ANSWER"}}
    ]


def test_a_spawned_agent_sees_the_parent_conversation_unless_told_not_to(
    app_server_factory: AppServerFactory, model: AgentModel, tmp_path: Path
) -> None:
    client, root_id = start(app_server_factory, model, tmp_path)
    forked = ("spawn_agent", {"task_name": "forked", "message": "WITH-HISTORY"}, "c_forked")
    model.script(ROOT, collab(forked, spawn("fresh", "WITHOUT-HISTORY", "c_fresh")), text_reply("root done"))
    model.script("/root/forked", text_reply("forked done"))
    model.script("/root/fresh", text_reply("fresh done"))
    run_turn(client, root_id, "PARENT-CONTEXT-7")
    assert "PARENT-CONTEXT-7" in json.dumps(model.requests_of("/root/forked", 1)[0].body)
    assert "PARENT-CONTEXT-7" not in json.dumps(model.requests_of("/root/fresh", 1)[0].body)
