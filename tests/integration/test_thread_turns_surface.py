"""Turn-level surface: compaction turns, steering a turn in flight, and the notifications upstream sends
around every turn (rate limits from the model API's headers, read state).

Runs against ours and the upstream binary with the same Responses stand-in; every expectation (shapes,
errors, notification order) was measured on upstream 0.163.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, compaction_reply, slow_reply, text_reply
from tests.integration.thread_surface_support import (
    MALFORMED_ID,
    UNKNOWN_ID,
    new_thread,
    rejected,
    run_turn,
    used_thread,
    user_texts,
)


@pytest.fixture
def start_server(app_server_factory: AppServerFactory, model: ResponsesApiStub) -> Any:
    def start(**kwargs: Any) -> Client:
        client = app_server_factory(config_toml=model.config_toml(), experimental_api=True, **kwargs)
        client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test-surface"})
        return client

    return start


@pytest.fixture
def client(start_server: Any) -> Client:
    started: Client = start_server()
    return started


# ------------------------------------------------------------------------- notifications around a turn


def test_rate_limit_headers_become_a_rate_limits_update(
    client: Client, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id = new_thread(client, tmp_path)
    reply = text_reply("pong")
    reply.headers = {
        "x-codex-primary-used-percent": "42.5",
        "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-at": "1796630000",
        "x-codex-secondary-used-percent": "7",
        "x-codex-secondary-window-minutes": "10080",
        "x-codex-secondary-reset-at": "1797000000",
        "x-codex-credits-has-credits": "true",
        "x-codex-credits-unlimited": "false",
        "x-codex-credits-balance": "12.5",
    }
    model.enqueue(reply)
    run_turn(client, thread_id, "ping")
    limits = client.wait_for("account/rateLimits/updated")["rateLimits"]
    assert limits["limitId"] == "codex"
    assert limits["primary"] == {"usedPercent": 43, "windowDurationMins": 300, "resetsAt": 1796630000}
    assert limits["secondary"] == {"usedPercent": 7, "windowDurationMins": 10080, "resetsAt": 1797000000}
    assert limits["credits"] == {"hasCredits": True, "unlimited": False, "balance": "12.5"}


def test_a_turn_ends_with_rate_limits_then_read_state_then_idle(
    client: Client, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id, turn_id = used_thread(client, model, tmp_path)
    client.settle()
    order = [
        note.method
        for note in sorted(client.drain(), key=lambda note: note.received)
        if note.method in {"account/rateLimits/updated", "thread/readState/changed", "thread/status/changed"}
    ]
    assert order[-3:] == ["account/rateLimits/updated", "thread/readState/changed", "thread/status/changed"]
    client.request("thread/read", {"threadId": thread_id})
    model.enqueue(text_reply("again"))
    run_turn(client, thread_id, "again")
    state = client.wait_for("thread/readState/changed", threadId=thread_id)["readState"]
    assert state["firstUnread"] == {"type": "turn", "turnId": turn_id}
    assert isinstance(state["revision"], str)
    assert state["revision"]


# ------------------------------------------------------------------------------------------ compaction


def test_compact_runs_a_compaction_turn_and_later_turns_send_its_result(
    client: Client, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    model.enqueue(compaction_reply("ENCRYPTED-SUMMARY"))
    assert client.request("thread/compact/start", {"threadId": thread_id}) == {}
    compacted = client.wait_for("item/completed", threadId=thread_id, **{"item.type": "contextCompaction"})
    compact_turn, item = compacted["turnId"], compacted["item"]
    assert set(item) == {"type", "id"}
    done = client.wait_for("turn/completed", **{"turn.id": compact_turn})["turn"]
    assert done["status"] == "completed"
    compact_request = model.wait_for_posts(2)[-1]
    assert compact_request.body is not None
    assert compact_request.body["input"][-1] == {"type": "compaction_trigger"}
    assert user_texts(compact_request) == ["ping"]
    read = client.request("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
    assert [i["type"] for i in read["turns"][-1]["items"]] == ["contextCompaction"]

    model.enqueue(text_reply("after"))
    run_turn(client, thread_id, "next")
    after = model.wait_for_posts(3)[-1]
    assert after.body is not None
    kinds = [entry.get("type") for entry in after.body["input"]]
    compaction = after.body["input"][kinds.index("compaction")]
    assert compaction["encrypted_content"] == "ENCRYPTED-SUMMARY"
    assert user_texts(after) == ["ping", "next"]
    assert "reply to ping" not in str(after.body)


def test_compact_errors(client: Client) -> None:
    assert rejected(client, "thread/compact/start", {"threadId": UNKNOWN_ID}).message == (
        f"thread not found: {UNKNOWN_ID}"
    )
    assert rejected(client, "thread/compact/start", {"threadId": MALFORMED_ID}).message.startswith(
        "invalid thread id: "
    )
    assert rejected(client, "thread/compact/start", {}).message == "Invalid request: missing field `threadId`"


# -------------------------------------------------------------------------------------------- steering


def test_steer_adds_input_to_the_turn_in_flight(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id = new_thread(client, tmp_path)
    slow = slow_reply("partial ", "rest")
    model.enqueue(slow, text_reply("after steer"))
    turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "ping"}]})["turn"]
    client.wait_for("item/agentMessage/delta", turnId=turn["id"])
    steer = {"threadId": thread_id, "expectedTurnId": turn["id"], "input": [{"type": "text", "text": "also this"}]}
    assert client.request("turn/steer", steer) == {"turnId": turn["id"]}
    steered = client.wait_for(
        "item/completed",
        turnId=turn["id"],
        where=lambda params: params["item"]["type"] == "userMessage" and params["item"]["content"][0]["text"] != "ping",
    )
    assert steered["item"]["content"] == [{"type": "text", "text": "also this", "text_elements": []}]
    second = model.wait_for_posts(2)[-1]
    slow.release()
    assert user_texts(second) == ["ping", "also this"]
    done = client.wait_for("turn/completed", **{"turn.id": turn["id"]})["turn"]
    assert done["status"] == "completed"
    answer = client.wait_for("item/completed", turnId=turn["id"], **{"item.type": "agentMessage"})["item"]
    assert answer["text"] == "after steer"
    assert rejected(client, "turn/steer", steer).message == "no active turn to steer"


def test_steer_errors(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id = new_thread(client, tmp_path)
    slow = slow_reply("partial ", "rest")
    model.enqueue(slow)
    turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "ping"}]})["turn"]
    client.wait_for("item/agentMessage/delta", turnId=turn["id"])
    text = [{"type": "text", "text": "x"}]
    wrong = rejected(client, "turn/steer", {"threadId": thread_id, "expectedTurnId": "wrong", "input": text})
    assert wrong.message == f"expected active turn id `wrong` but found `{turn['id']}`"
    empty = rejected(client, "turn/steer", {"threadId": thread_id, "expectedTurnId": turn["id"], "input": []})
    assert empty.message == "input must not be empty"
    missing = rejected(client, "turn/steer", {"threadId": thread_id, "input": text})
    assert missing.message == "Invalid request: missing field `expectedTurnId`"
    malformed = rejected(client, "turn/steer", {"threadId": MALFORMED_ID, "expectedTurnId": turn["id"], "input": text})
    assert malformed.message.startswith("invalid thread id: ")
    client.request("turn/interrupt", {"threadId": thread_id, "turnId": turn["id"]})
    client.wait_for("turn/completed", **{"turn.id": turn["id"]})
    slow.release()


# ---------------------------------------------------------------------------------------------------- review


def test_review_turn_reports_the_review_with_upstreams_items(
    client: Client, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id = new_thread(client, tmp_path)
    model.enqueue(text_reply("looks fine to me"))
    started = client.request(
        "review/start", {"threadId": thread_id, "target": {"type": "custom", "instructions": "check it"}}
    )
    assert started["reviewThreadId"] == thread_id
    turn = started["turn"]
    assert turn["status"] == "inProgress"
    assert [(item["type"], item["content"][0]["text"]) for item in turn["items"]] == [("userMessage", "check it")]
    entered = client.wait_for("item/completed", threadId=thread_id, **{"item.type": "enteredReviewMode"})
    assert entered["item"]["review"] == "check it"
    exited = client.wait_for("item/completed", threadId=thread_id, **{"item.type": "exitedReviewMode"})
    assert exited["item"]["review"] == "looks fine to me"
    answer = client.wait_for("item/completed", threadId=thread_id, **{"item.type": "agentMessage"})
    assert answer["item"]["text"] == "looks fine to me"
    assert client.wait_for("turn/completed", threadId=thread_id)["turn"]["status"] == "completed"
    assert user_texts(model.wait_for_posts(1)[-1])[-1] == "check it"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"target": {"type": "custom", "instructions": ""}}, "instructions must not be empty"),
        ({}, "Invalid request: missing field `target`"),
        ({"target": {"type": "nope"}}, "Invalid request: unknown variant `nope`"),
    ],
)
def test_review_start_rejects_bad_targets(client: Client, tmp_path: Path, params: dict[str, Any], message: str) -> None:
    thread_id = new_thread(client, tmp_path)
    assert rejected(client, "review/start", {"threadId": thread_id, **params}).message.startswith(message)


def test_review_start_on_a_malformed_thread_id(client: Client) -> None:
    target = {"type": "custom", "instructions": "x"}
    assert rejected(client, "review/start", {"threadId": MALFORMED_ID, "target": target}).message.startswith(
        "invalid thread id: "
    )
