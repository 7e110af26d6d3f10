"""Upstream's message order, read from the bytes each write(2) carried: a request's response is written
before any notification the request causes, and in a write of its own.

Measured on the 0.163 binary with these tests: `thread/start` answers, then `thread/started`; `turn/start`
answers, then `turn/started` and the user message's `item/started`/`item/completed`; the same shape for
fork, resume, shellCommand, thread/name/set, compaction, steering, review/start, fs/watch, a fuzzy search
session's updates, logout and an API-key login
(`account/login/completed`, then `account/updated`), also when a login and a logout come in one write. A
client that registers its listeners when a response resolves sees everything only if this holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.responses_api import ResponsesApiStub, compaction_reply, slow_reply, text_reply
from tests.integration.order_support import TracedServer, strace_available

pytestmark = pytest.mark.skipif(not strace_available(), reason="needs strace to see each write(2)")

Messages = list[list[dict[str, Any]]]
Predicate = Callable[[dict[str, Any]], bool]


def notification(method: str, **fields: Any) -> Predicate:
    def matches(message: dict[str, Any]) -> bool:
        params = message.get("params") or {}
        return message.get("method") == method and all(params.get(k) == v for k, v in fields.items())

    return matches


def assert_answered_first(writes: Messages, request_id: str, caused: list[Predicate]) -> None:
    """The response is alone in its write, every caused notification comes in a later write, and they first
    appear in the order `caused` lists them (upstream's order)."""
    where = next(i for i, batch in enumerate(writes) for m in batch if m.get("id") == request_id and "method" not in m)
    assert [m.get("method") for m in writes[where] if "method" in m] == [], "the response shared its write"
    flat = [(i, m) for i, batch in enumerate(writes) for m in batch]
    firsts = []
    for matches in caused:
        found = [(position, i) for position, (i, m) in enumerate(flat) if matches(m)]
        assert found, "a caused notification was never written"
        assert min(i for _, i in found) > where, "a notification was written before the response that caused it"
        firsts.append(min(position for position, _ in found))
    assert firsts == sorted(firsts), "the caused notifications are not in upstream's order"


@pytest.fixture
def server(app_server_kind: str, model: ResponsesApiStub, tmp_path: Path) -> Iterator[TracedServer]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(model.config_toml())
    traced = TracedServer(app_server_kind, home, tmp_path)
    yield traced
    if traced.process.poll() is None:
        traced.process.kill()
        traced.process.wait()


def logged_in(server: TracedServer) -> None:
    server.request("login", "account/login/start", {"type": "apiKey", "apiKey": "sk-order"})
    server.notification("account/updated")


def started_thread(server: TracedServer, cwd: Path, request_id: str = "start") -> str:
    server.request(request_id, "thread/start", {"cwd": str(cwd)})
    response = server.response(request_id)
    assert "result" in response, response
    thread_id: str = response["result"]["thread"]["id"]
    server.wait(lambda m: m.get("method") == "thread/started" and m["params"]["thread"]["id"] == thread_id)
    return thread_id


def completed_turn(server: TracedServer, thread_id: str, request_id: str) -> str:
    server.request(request_id, "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi"}]})
    turn_id: str = server.response(request_id)["result"]["turn"]["id"]
    server.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id)
    return turn_id


def thread_with_a_turn(server: TracedServer, model: ResponsesApiStub, cwd: Path) -> tuple[str, str]:
    """Logged in, one thread, one completed turn: where the fork, resume, compact and turn cases start."""
    logged_in(server)
    thread_id = started_thread(server, cwd)
    model.enqueue(text_reply("hello"))
    return thread_id, completed_turn(server, thread_id, "turn")


def test_login_start_answers_before_login_completed_and_account_updated(server: TracedServer) -> None:
    logged_in(server)
    writes = server.finish()
    assert_answered_first(writes, "login", [notification("account/login/completed"), notification("account/updated")])


def test_thread_start_answers_before_thread_started(server: TracedServer, tmp_path: Path) -> None:
    logged_in(server)
    started_thread(server, tmp_path)
    assert_answered_first(server.finish(), "start", [notification("thread/started")])


def test_turn_start_answers_before_turn_started_and_the_user_message(
    server: TracedServer, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id, turn_id = thread_with_a_turn(server, model, tmp_path)

    def user_item(method: str) -> Predicate:
        return lambda m: notification(method, turnId=turn_id)(m) and m["params"]["item"]["type"] == "userMessage"

    caused = [notification("turn/started", threadId=thread_id), user_item("item/started"), user_item("item/completed")]
    assert_answered_first(server.finish(), "turn", caused)


def test_thread_fork_answers_before_the_fork_is_started(
    server: TracedServer, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id, _ = thread_with_a_turn(server, model, tmp_path)
    server.request("fork", "thread/fork", {"threadId": thread_id})
    fork_id = server.response("fork")["result"]["thread"]["id"]
    server.wait(lambda m: m.get("method") == "thread/started" and m["params"]["thread"]["id"] == fork_id)
    started = lambda m: m.get("method") == "thread/started" and m["params"]["thread"]["id"] == fork_id  # noqa: E731
    assert_answered_first(server.finish(), "fork", [started])


def test_thread_resume_answers_alone(server: TracedServer, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = thread_with_a_turn(server, model, tmp_path)
    server.request("resume", "thread/resume", {"threadId": thread_id})
    server.response("resume")
    server.request("after", "fs/getMetadata", {"path": "/"})
    server.response("after")
    assert_answered_first(server.finish(), "resume", [])


def test_shell_command_answers_before_its_turn_starts(server: TracedServer, tmp_path: Path) -> None:
    logged_in(server)
    thread_id = started_thread(server, tmp_path)
    server.request("shell", "thread/shellCommand", {"threadId": thread_id, "command": "echo hi"})
    server.response("shell")
    server.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["threadId"] == thread_id)
    caused = [notification("turn/started", threadId=thread_id), notification("item/started", threadId=thread_id)]
    assert_answered_first(server.finish(), "shell", caused)


def test_logout_answers_before_account_updated(server: TracedServer) -> None:
    logged_in(server)
    server.request("logout", "account/logout", None)
    server.response("logout")
    server.notification("account/updated", authMode=None)
    assert_answered_first(server.finish(), "logout", [notification("account/updated", authMode=None)])


def test_a_pipelined_login_and_logout_are_answered_and_announced_in_request_order(server: TracedServer) -> None:
    assert server.process.stdin is not None
    login = {"id": "in", "method": "account/login/start", "params": {"type": "apiKey", "apiKey": "sk-piped"}}
    logout = {"id": "out", "method": "account/logout"}
    server.process.stdin.write(f"{json.dumps(login)}\n{json.dumps(logout)}\n".encode())
    server.process.stdin.flush()
    server.response("out")
    server.notification("account/updated", authMode=None)
    writes = server.finish()
    flat = [m for batch in writes for m in batch if m.get("id") in ("in", "out") or "account/" in m.get("method", "")]
    seen = [m.get("method") or m["id"] for m in flat]
    assert seen == ["in", "account/login/completed", "account/updated", "out", "account/updated"]
    assert [m["params"]["authMode"] for m in flat if m.get("method") == "account/updated"] == ["apikey", None]
    assert_answered_first(writes, "in", [notification("account/login/completed")])
    assert_answered_first(writes, "out", [notification("account/updated", authMode=None)])


def test_thread_name_set_answers_before_thread_name_updated(server: TracedServer, tmp_path: Path) -> None:
    logged_in(server)
    thread_id = started_thread(server, tmp_path)
    server.request("name", "thread/name/set", {"threadId": thread_id, "name": "Named"})
    server.response("name")
    server.notification("thread/name/updated", threadId=thread_id)
    assert_answered_first(server.finish(), "name", [notification("thread/name/updated", threadId=thread_id)])


def test_compact_answers_before_its_compaction_turn(
    server: TracedServer, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id, _ = thread_with_a_turn(server, model, tmp_path)
    model.enqueue(compaction_reply("SUMMARY"))
    server.request("compact", "thread/compact/start", {"threadId": thread_id})
    server.response("compact")
    compacted = server.wait(
        lambda m: m.get("method") == "item/completed" and m["params"]["item"]["type"] == "contextCompaction"
    )
    turn_id = compacted["params"]["turnId"]
    server.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id)

    def compaction_item(method: str) -> Predicate:
        return lambda m: notification(method, turnId=turn_id)(m) and m["params"]["item"]["type"] == "contextCompaction"

    started = lambda m: m.get("method") == "turn/started" and m["params"]["turn"]["id"] == turn_id  # noqa: E731
    caused = [started, compaction_item("item/started"), compaction_item("item/completed")]
    assert_answered_first(server.finish(), "compact", caused)


def test_steer_answers_before_the_steered_input_is_announced(
    server: TracedServer, model: ResponsesApiStub, tmp_path: Path
) -> None:
    """Then, as upstream 0.163 writes them: the rate limits of the round the steer cut short (it reported no
    usage), the steered input, and after the last round its token usage before its rate limits."""
    logged_in(server)
    thread_id = started_thread(server, tmp_path)
    slow = slow_reply("partial ", "rest")
    model.enqueue(slow, text_reply("after steer"))
    server.request("turn", "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "ping"}]})
    turn_id = server.response("turn")["result"]["turn"]["id"]
    server.notification("item/agentMessage/delta", turnId=turn_id)
    steer = {"threadId": thread_id, "expectedTurnId": turn_id, "input": [{"type": "text", "text": "also this"}]}
    server.request("steer", "turn/steer", steer)
    server.response("steer")
    model.wait_for_posts(2)
    slow.release()
    server.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id)

    def steered(method: str) -> Predicate:
        def matches(m: dict[str, Any]) -> bool:
            item = (m.get("params") or {}).get("item") or {}
            return m.get("method") == method and item.get("type") == "userMessage" and "also this" in str(item)

        return matches

    writes = server.finish()
    assert_answered_first(writes, "steer", [steered("item/started"), steered("item/completed")])

    def label(m: dict[str, Any]) -> str | None:
        if m.get("id") == "steer" and "method" not in m:
            return "steer response"
        if steered("item/started")(m):
            return "steered input"
        if m.get("method") in ("thread/tokenUsage/updated", "account/rateLimits/updated", "turn/completed"):
            return str(m["method"])
        return None

    labels = [name for batch in writes for m in batch if (name := label(m)) is not None]
    assert labels[labels.index("steer response") :] == [
        "steer response",
        "account/rateLimits/updated",
        "steered input",
        "thread/tokenUsage/updated",
        "account/rateLimits/updated",
        "turn/completed",
    ]


def test_fs_watch_answers_before_the_first_change_is_reported(server: TracedServer, tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    server.request("watch", "fs/watch", {"path": str(watched), "watchId": "w"})
    server.response("watch")
    (watched / "file").write_text("x")
    server.notification("fs/changed", watchId="w")
    assert_answered_first(server.finish(), "watch", [notification("fs/changed", watchId="w")])


def test_fuzzy_session_update_answers_before_its_results(server: TracedServer, tmp_path: Path) -> None:
    """A small tree: ours searches it on the event loop, right behind the response it must not share a
    write with."""
    root = tmp_path / "tree"
    root.mkdir()
    for name in ("render.rs", "renderer.py", "other.txt"):
        (root / name).write_text("")
    server.request("start", "fuzzyFileSearch/sessionStart", {"sessionId": "s", "roots": [str(root)]})
    server.response("start")
    for number, query in enumerate(("r", "re", "ren", "render"), start=1):
        server.request(f"update-{number}", "fuzzyFileSearch/sessionUpdate", {"sessionId": "s", "query": query})
        server.notification("fuzzyFileSearch/sessionUpdated", sessionId="s", query=query)
    writes = server.finish()
    for number, query in enumerate(("r", "re", "ren", "render"), start=1):
        assert_answered_first(
            writes, f"update-{number}", [notification("fuzzyFileSearch/sessionUpdated", sessionId="s", query=query)]
        )


REVIEW_TURN = [
    ("item/started", "enteredReviewMode"),
    ("item/completed", "enteredReviewMode"),
    ("thread/status/changed", None),
    ("turn/started", None),
    ("item/started", "userMessage"),
    ("item/completed", "userMessage"),
    ("item/started", "agentMessage"),
    ("item/started", "exitedReviewMode"),
    ("item/completed", "exitedReviewMode"),
    ("item/started", "agentMessage"),
    ("item/completed", "agentMessage"),
    ("thread/readState/changed", None),
    ("thread/status/changed", None),
    ("turn/completed", None),
]
"""What upstream 0.163 sends after answering review/start, in order: the review item comes before
turn/started, the streamed message is announced but never completed (the review reaches the client as
`exitedReviewMode` and a second, complete message), and no rate-limit update follows the review's model
call. One difference is left on purpose: upstream's turn/started names another turn id than its response
and turn/completed do; ours names the same turn throughout, so a client can match them."""


def test_review_start_answers_before_its_review_turn_in_upstreams_order(
    server: TracedServer, model: ResponsesApiStub, tmp_path: Path
) -> None:
    logged_in(server)
    thread_id = started_thread(server, tmp_path)
    model.enqueue(text_reply("looks fine to me"))
    target = {"type": "custom", "instructions": "check it"}
    server.request("review", "review/start", {"threadId": thread_id, "target": target})
    turn_id = server.response("review")["result"]["turn"]["id"]
    server.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id)
    writes = server.finish()
    assert_answered_first(writes, "review", [notification("item/started", threadId=thread_id)])
    where = next(i for i, batch in enumerate(writes) for m in batch if m.get("id") == "review")
    after = [
        m
        for batch in writes[where + 1 :]
        for m in batch
        if (m.get("params") or {}).get("threadId") == thread_id or m.get("method") == "account/rateLimits/updated"
    ]
    assert [(m["method"], m["params"].get("item", {}).get("type")) for m in after] == REVIEW_TURN
