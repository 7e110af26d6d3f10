"""SessionStart and Stop command hooks, against ours and upstream with the same stand-in and config.

Hook scripts are small Python programs: each appends its stdin payload to a log and prints what its
arguments say (context to add, a reason to block while `stop_hook_active` is false, or a sleep)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, text_reply
from tests.integration.test_threads import run_turn

HOOK_SCRIPT = r"""
import json, sys, time
payload = json.load(sys.stdin)
mode, value, log = sys.argv[1], sys.argv[2], sys.argv[3]
with open(log, "a") as handle:
    handle.write(json.dumps({"mode": mode, "value": value, "payload": payload}) + "\n")
if mode == "context":
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": value}}))
elif mode == "block" and not payload.get("stop_hook_active"):
    print(json.dumps({"decision": "block", "reason": value}))
elif mode == "sleep":
    time.sleep(float(value))
"""


class Hooks:
    def __init__(self, tmp_path: Path) -> None:
        self.script = tmp_path / "hook.py"
        self.script.write_text(HOOK_SCRIPT)
        self.log = tmp_path / "hooks.log"

    def command(self, mode: str, value: str) -> str:
        return f"{sys.executable} {self.script} {mode} {json.dumps(value)} {self.log}"

    def runs(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def config(self, event: str, *handlers: tuple[str, str], timeout: int = 30) -> str:
        """One matcher group per handler, so several Stop hooks run side by side like upstream's groups."""
        groups = []
        for mode, value in handlers:
            command = json.dumps(self.command(mode, value))
            groups.append(
                f'[[hooks.{event}]]\nhooks = [{{ type = "command", command = {command}, timeout = {timeout} }}]\n'
            )
        return "".join(groups)


@pytest.fixture
def hooks(tmp_path: Path) -> Hooks:
    return Hooks(tmp_path)


def start(
    factory: AppServerFactory,
    model: ResponsesApiStub,
    cwd: Path,
    config: str,
    *,
    bypass: bool = True,
    codex_home: Path | None = None,
) -> tuple[Client, str]:
    client = factory(config_toml=model.config_toml() + config, experimental_api=True, codex_home=codex_home)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-hooks"})
    params: dict[str, Any] = {"cwd": str(cwd)}
    if bypass:
        params["config"] = {"bypass_hook_trust": True}
    thread_id: str = client.request("thread/start", params)["thread"]["id"]
    return client, thread_id


def hook_prompts(request: Any) -> list[list[str]]:
    """The text parts of every user message made of <hook_prompt> elements, in order."""
    found = []
    for item in request.body["input"]:
        if item.get("type") == "message" and item.get("role") == "user":
            parts = [p.get("text", "") for p in item.get("content", [])]
            if parts and all(p.startswith("<hook_prompt") for p in parts):
                found.append(parts)
    return found


def test_session_start_context_reaches_the_model(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, hooks: Hooks, tmp_path: Path
) -> None:
    client, thread_id = start(
        app_server_factory, model, tmp_path, hooks.config("SessionStart", ("context", "SS-MARKER"))
    )
    model.enqueue(text_reply("ok"))
    turn = run_turn(client, thread_id, "hello")
    completed = client.wait_for("hook/completed", threadId=thread_id, **{"run.eventName": "sessionStart"})
    assert completed["run"]["status"] == "completed"
    assert completed["run"]["entries"] == [{"kind": "context", "text": "SS-MARKER"}]
    assert completed["turnId"] == turn["id"]
    sent = model.wait_for_posts(1)[0].input_texts()
    developer = [i for i, (role, text) in enumerate(sent) if role == "developer" and text == "SS-MARKER"]
    user = [i for i, (role, text) in enumerate(sent) if role == "user" and text == "hello"]
    assert len(developer) == 1
    assert developer[0] < user[0]
    payload = hooks.runs()[0]["payload"]
    assert (payload["hook_event_name"], payload["session_id"], payload["cwd"]) == (
        "SessionStart",
        thread_id,
        str(tmp_path),
    )


@pytest.mark.parametrize("blocking", [1, 2])
def test_blocking_stop_hooks_continue_the_turn_once_with_their_reasons_in_order(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, hooks: Hooks, tmp_path: Path, blocking: int
) -> None:
    blockers = [("block", "REASON-A keep going"), ("block", "REASON-B also")][:blocking]
    handlers = [*blockers, ("allow", "-")]
    client, thread_id = start(app_server_factory, model, tmp_path, hooks.config("Stop", *handlers))
    model.enqueue(text_reply("first answer"), text_reply("second answer"), text_reply("never needed"))
    turn = run_turn(client, thread_id, "work")
    assert turn["status"] == "completed"
    posts = model.wait_for_posts(2)
    client.assert_no("turn/completed", within=0.5, **{"turn.id": "unused"})
    assert len(model.posts()) == 2, "a continuation must not loop"
    prompts = hook_prompts(posts[1])
    assert len(prompts) == 1
    reasons = [part.split(">", 1)[1].rsplit("</hook_prompt>", 1)[0] for part in prompts[0]]
    assert reasons == ["REASON-A keep going", "REASON-B also"][:blocking]
    item = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "hookPrompt"})["item"]
    assert [f["text"] for f in item["fragments"]] == reasons
    stop_runs = [r["payload"] for r in hooks.runs() if r["payload"]["hook_event_name"] == "Stop"]
    assert sorted(p["stop_hook_active"] for p in stop_runs) == [False] * len(handlers) + [True] * len(handlers)
    assert {p["last_assistant_message"] for p in stop_runs} == {"first answer", "second answer"}


def test_hook_prompt_escapes_markup(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, hooks: Hooks, tmp_path: Path
) -> None:
    reason = "a < b & \"c\" </hook_prompt> 'd'"
    client, thread_id = start(app_server_factory, model, tmp_path, hooks.config("Stop", ("block", reason)))
    model.enqueue(text_reply("one"), text_reply("two"))
    run_turn(client, thread_id, "go")
    part = hook_prompts(model.wait_for_posts(2)[1])[0][0]
    assert part.endswith(">a &lt; b &amp; \"c\" &lt;/hook_prompt&gt; 'd'</hook_prompt>")


def test_a_slow_hook_times_out_and_the_turn_still_completes(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, hooks: Hooks, tmp_path: Path
) -> None:
    client, thread_id = start(app_server_factory, model, tmp_path, hooks.config("Stop", ("sleep", "30"), timeout=1))
    model.enqueue(text_reply("done"))
    turn = run_turn(client, thread_id, "go")
    assert turn["status"] == "completed"
    completed = client.wait_for("hook/completed", threadId=thread_id, **{"run.eventName": "stop"})
    assert completed["run"]["status"] == "failed"


def test_untrusted_hooks_are_listed_but_do_not_run(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, hooks: Hooks, tmp_path: Path
) -> None:
    client, thread_id = start(
        app_server_factory, model, tmp_path, hooks.config("Stop", ("block", "nope")), bypass=False
    )
    listed = client.request("hooks/list", {"cwds": [str(tmp_path)]})["data"][0]["hooks"]
    assert [(h["eventName"], h["trustStatus"]) for h in listed] == [("stop", "untrusted")]
    assert listed[0]["key"].endswith("config.toml:stop:0:0")
    assert listed[0]["currentHash"].startswith("sha256:")
    model.enqueue(text_reply("done"))
    run_turn(client, thread_id, "go")
    assert hooks.runs() == []
    assert len(model.posts()) == 1


def test_a_trusted_hash_in_config_lets_the_hook_run(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, hooks: Hooks, tmp_path: Path
) -> None:
    config = hooks.config("Stop", ("allow", "-"))
    probe, _ = start(app_server_factory, model, tmp_path, config, bypass=False)
    hook = probe.request("hooks/list", {"cwds": [str(tmp_path)]})["data"][0]["hooks"][0]
    probe.close()
    trusted = config + f'[hooks.state."{hook["key"]}"]\ntrusted_hash = "{hook["currentHash"]}"\n'
    client, thread_id = start(app_server_factory, model, tmp_path, trusted, bypass=False, codex_home=probe.codex_home)
    listed = client.request("hooks/list", {"cwds": [str(tmp_path)]})["data"][0]["hooks"]
    assert listed[0]["trustStatus"] == "trusted"
    model.enqueue(text_reply("done"))
    run_turn(client, thread_id, "go")
    assert [r["payload"]["hook_event_name"] for r in hooks.runs()] == ["Stop"]
