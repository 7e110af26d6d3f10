"""Threads and turns against the Responses stand-in; every notification awaited by its ids.

Runs against ours and (through `nox -s conformance`) the upstream binary, which honours
`openai_base_url` and so talks to the same stand-in. Where upstream cannot be driven the same way (its
shell tool is a JavaScript code-mode tool, and it has no `--session-source`), the test says so.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import (
    ResponsesApiStub,
    server_error,
    slow_reply,
    text_reply,
    usage_limit,
)

TURN_ABORTED_OPEN = "<turn_aborted>"


@pytest.fixture
def start_server(app_server_factory: AppServerFactory, model: ResponsesApiStub) -> Any:
    def start(**kwargs: Any) -> Client:
        client = app_server_factory(config_toml=model.config_toml(), experimental_api=True, **kwargs)
        client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test-threads"})
        return client

    return start


def new_thread(client: Client, cwd: Path) -> str:
    thread_id: str = client.request("thread/start", {"cwd": str(cwd)})["thread"]["id"]
    client.wait_for("thread/started", **{"thread.id": thread_id})
    return thread_id


def run_turn(client: Client, thread_id: str, text: str) -> dict[str, Any]:
    turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]})["turn"]
    completed: dict[str, Any] = client.wait_for("turn/completed", threadId=thread_id, **{"turn.id": turn["id"]})
    return completed["turn"]


def texts(request: Any, role: str) -> list[str]:
    return [text for who, text in request.input_texts() if who == role]


def test_multi_turn_conversation_replays_history(start_server: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    model.enqueue(text_reply("pong one"), text_reply("pong two"))
    first = run_turn(client, thread_id, "ping")
    assert first["status"] == "completed"
    message = client.wait_for("item/completed", threadId=thread_id, turnId=first["id"], **{"item.type": "agentMessage"})
    assert message["item"]["text"] == "pong one"
    run_turn(client, thread_id, "and again")
    second = model.wait_for_posts(2)[-1]
    assert second.body is not None
    assert second.body["store"] is False
    assert texts(second, "user")[-1] == "and again"
    assert "ping" in texts(second, "user")
    assert texts(second, "assistant") == ["pong one"]


def test_deltas_stream_in_order_and_add_up_to_the_message(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    model.enqueue(text_reply("streamed answer text", chunks=4))
    turn = run_turn(client, thread_id, "hi")
    done = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "agentMessage"})
    client.settle()  # every delta sent before turn/completed is buffered now, chaos or not
    notes = [n for n in client.drain("item/agentMessage/delta") if n.params["turnId"] == turn["id"]]
    deltas = [n.params["delta"] for n in sorted(notes, key=lambda n: n.received)]  # wire order
    assert "".join(deltas) == done["item"]["text"] == "streamed answer text"


def test_interrupt_mid_stream_records_the_interruption_once(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    slow = slow_reply("partial ", "never seen")
    model.enqueue(slow, text_reply("after"))
    turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "ping"}]})["turn"]
    client.wait_for("item/agentMessage/delta", turnId=turn["id"])
    assert client.request("turn/interrupt", {"threadId": thread_id, "turnId": turn["id"]}) == {}
    completed = client.wait_for("turn/completed", **{"turn.id": turn["id"]})
    slow.release()
    assert completed["turn"]["status"] == "interrupted"
    read = client.request("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
    assert [item["type"] for item in read["turns"][0]["items"]] == ["userMessage"]
    run_turn(client, thread_id, "again")
    sent = model.wait_for_posts(2)[-1]
    developer = [text for text in texts(sent, "developer") if TURN_ABORTED_OPEN in text]
    assert len(developer) == 1
    order = [text for _, text in sent.input_texts() if text in ("ping", "again") or TURN_ABORTED_OPEN in text]
    assert order == ["ping", developer[0], "again"]
    assert "never seen" not in str(sent.body)
    assert "partial" not in texts(sent, "assistant")


def test_interrupt_without_an_active_turn_is_rejected(start_server: Any, tmp_path: Path) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("turn/interrupt", {"threadId": thread_id, "turnId": "no-such-turn"})
    assert excinfo.value.code == -32600
    assert "no active turn to interrupt" in excinfo.value.message


def test_fork_of_completed_turns_copies_them_without_a_marker(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    model.enqueue(text_reply("pong one"), text_reply("fork reply"))
    source_turn = run_turn(client, thread_id, "ping")
    forked = client.request("thread/fork", {"threadId": thread_id})["thread"]
    assert forked["id"] != thread_id
    assert forked["forkedFromId"] == thread_id
    assert [turn["id"] for turn in forked["turns"]] == [source_turn["id"]]
    assert forked["turns"][0]["status"] == "completed"
    run_turn(client, forked["id"], "on the fork")
    sent = model.wait_for_posts(2)[-1]
    assert texts(sent, "user")[-2:] == ["ping", "on the fork"] or texts(sent, "user")[-1] == "on the fork"
    assert texts(sent, "assistant") == ["pong one"]
    assert not [text for text in texts(sent, "developer") if TURN_ABORTED_OPEN in text]


def test_fork_mid_turn_cuts_the_turn_off_with_one_marker(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    slow = slow_reply("half ", "rest")
    model.enqueue(text_reply("pong one"), slow, text_reply("fork reply"))
    run_turn(client, thread_id, "first")
    turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "second"}]})["turn"]
    client.wait_for("item/agentMessage/delta", turnId=turn["id"])
    forked = client.request("thread/fork", {"threadId": thread_id})["thread"]
    slow.release()
    source_done = client.wait_for("turn/completed", threadId=thread_id, **{"turn.id": turn["id"]})
    assert source_done["turn"]["status"] == "completed"
    assert [t["status"] for t in forked["turns"]] == ["completed", "interrupted"]
    assert [item["type"] for item in forked["turns"][1]["items"]] == ["userMessage"]
    run_turn(client, forked["id"], "third")
    sent = model.wait_for_posts(3)[-1]
    markers = [text for text in texts(sent, "developer") if TURN_ABORTED_OPEN in text]
    assert len(markers) == 1
    order = [
        text for _, text in sent.input_texts() if text in ("first", "second", "third") or TURN_ABORTED_OPEN in text
    ]
    assert order == ["first", "second", markers[0], "third"]
    assert "half" not in texts(sent, "assistant")


def test_thread_survives_a_server_restart(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    first = app_server_factory(config_toml=model.config_toml())
    first.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test-threads"})
    thread_id = new_thread(first, tmp_path)
    model.enqueue(text_reply("remembered"), text_reply("second life"))
    turn = run_turn(first, thread_id, "before restart")
    home = first.codex_home
    first.close()
    second = app_server_factory(codex_home=home)
    resumed = second.request("thread/resume", {"threadId": thread_id})["thread"]
    assert [t["id"] for t in resumed["turns"]] == [turn["id"]]
    run_turn(second, thread_id, "after restart")
    sent = model.wait_for_posts(2)[-1]
    assert "before restart" in texts(sent, "user")
    assert texts(sent, "assistant") == ["remembered"]


def test_shell_command_runs_as_a_turn_and_the_model_sees_it_next(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    assert client.request("thread/shellCommand", {"threadId": thread_id, "command": "echo hello"}) == {}
    done = client.wait_for(
        "item/completed", threadId=thread_id, **{"item.type": "commandExecution", "item.status": "completed"}
    )
    assert done["item"]["aggregatedOutput"] == "hello\n"
    assert done["item"]["exitCode"] == 0
    assert done["item"]["source"] == "userShell"
    client.wait_for("turn/completed", threadId=thread_id, **{"turn.id": done["turnId"]})
    model.enqueue(text_reply("saw it"))
    run_turn(client, thread_id, "what did I run?")
    sent = model.wait_for_posts(1)[-1]
    shell_records = [text for text in texts(sent, "user") if text.startswith("<user_shell_command>")]
    assert len(shell_records) == 1
    assert "<command>\necho hello\n</command>" in shell_records[0]
    assert "Exit code: 0" in shell_records[0]


def test_failing_shell_command_reports_exit_code_and_merged_output(start_server: Any, tmp_path: Path) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    client.request("thread/shellCommand", {"threadId": thread_id, "command": "echo out; echo err >&2; exit 3"})
    done = client.wait_for("item/completed", threadId=thread_id, **{"item.type": "commandExecution"})
    assert (done["item"]["status"], done["item"]["exitCode"]) == ("failed", 3)
    assert sorted(done["item"]["aggregatedOutput"].splitlines()) == ["err", "out"]


def test_empty_shell_command_is_rejected(start_server: Any, tmp_path: Path) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("thread/shellCommand", {"threadId": thread_id, "command": ""})
    assert "command must not be empty" in excinfo.value.message


PLAN_MESSAGES = {
    "plus": ("Upgrade to Pro", "purchase more credits"),
    "pro": ("purchase more credits",),
    "self_serve_business_usage_based": ("send a request to your admin",),
    "free": ("Upgrade to Plus",),
    None: ("Try again at",),
}


@pytest.mark.parametrize("plan", list(PLAN_MESSAGES))
def test_usage_limit_message_depends_on_the_plan(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path, plan: str | None
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    credits = {"x-codex-credits-has-credits": "true", "x-codex-credits-balance": "50"}
    model.enqueue(usage_limit(plan, resets_at=int(time.time()) + 3600, headers=credits))
    turn = run_turn(client, thread_id, "hi")
    assert turn["status"] == "failed"
    assert turn["error"]["codexErrorInfo"] == "usageLimitExceeded"
    message = turn["error"]["message"]
    assert message.startswith("You\u2019ve hit your usage limit.")
    for phrase in PLAN_MESSAGES[plan]:
        assert phrase in message
    assert "Switch to another model" not in message
    if plan == "self_serve_business_usage_based":
        assert "credits" not in message
    error = client.wait_for("error", threadId=thread_id, turnId=turn["id"])
    assert error["willRetry"] is False
    assert len(model.posts()) == 1, "a usage limit is never retried"


def test_usage_limit_names_a_model_only_for_a_model_scoped_limit(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    headers = {"x-codex-limit-name": "gpt-x", "x-codex-primary-used-percent": "100"}
    model.enqueue(usage_limit("pro", resets_at=int(time.time()) + 3600, headers=headers))
    turn = run_turn(client, thread_id, "hi")
    assert "usage limit for gpt-x. Switch to another model now" in turn["error"]["message"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_git_info_appears_after_the_first_turn_inside_a_repo(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feat")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "x")
    git(repo, "remote", "add", "origin", "https://example.com/x.git")
    client = start_server()
    thread_id = new_thread(client, repo)
    model.enqueue(text_reply("ok"))
    run_turn(client, thread_id, "hi")
    info = client.request("thread/read", {"threadId": thread_id})["thread"]["gitInfo"]
    assert info == {"sha": git(repo, "rev-parse", "HEAD"), "branch": "feat", "originUrl": "https://example.com/x.git"}


def test_no_git_info_outside_a_repo(start_server: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    model.enqueue(text_reply("ok"))
    run_turn(client, thread_id, "hi")
    assert client.request("thread/read", {"threadId": thread_id})["thread"]["gitInfo"] is None


def test_unknown_thread_is_an_invalid_request(start_server: Any) -> None:
    client = start_server()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("thread/read", {"threadId": "00000000-0000-7000-8000-000000000000"})
    assert excinfo.value.code == -32600


def test_list_shows_threads_that_ran_a_turn_filtered_by_source_kind(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    idle = new_thread(client, tmp_path)
    used = new_thread(client, tmp_path)
    model.enqueue(text_reply("ok"))
    run_turn(client, used, "hi")
    listed = [t["id"] for t in client.request("thread/list", {})["data"]]
    assert used in listed
    assert idle not in listed
    assert client.request("thread/list", {"sourceKinds": ["cli"]})["data"] == []


def test_a_server_error_from_the_model_is_retried_and_the_turn_completes(
    start_server: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start_server()
    thread_id = new_thread(client, tmp_path)
    model.enqueue(server_error(500), text_reply("second try"))
    turn = run_turn(client, thread_id, "hi")
    assert turn["status"] == "completed"
    message = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "agentMessage"})
    assert message["item"]["text"] == "second try"
    assert len(model.posts()) == 2
