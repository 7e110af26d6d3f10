"""The official Python SDK (PyPI `openai-codex`) driving a whole conversation through its public API.

The SDK launches the command it is given, so it drives our server exactly as it drives upstream's, against
the same Responses stand-in; its models are generated from upstream's schema, so a shape it cannot parse
fails here. Every test uses only what a user of the SDK would call (`Codex`, `Thread`, `TurnHandle`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness.pytest_plugin import server_command
from codex_app_harness.transports import default_env
from fixtures.responses_api import ResponsesApiStub, compaction_reply, slow_reply, text_reply

openai_codex = pytest.importorskip("openai_codex", reason="the `test` extra installs the upstream SDK")

IDLE_POLLS = 200
"""Reads of a thread while waiting for a turn the SDK does not hand back (compaction) to finish."""


@pytest.fixture
def codex_home(tmp_path: Path, model: ResponsesApiStub) -> Path:
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(model.config_toml())
    return home


@pytest.fixture
def codex(app_server_kind: str, codex_home: Path) -> Iterator[Any]:
    with sdk(app_server_kind, codex_home) as client:
        client.login_api_key("sk-from-the-sdk")
        yield client


def sdk(kind: str, home: Path) -> Any:
    config = openai_codex.CodexConfig(launch_args_override=tuple(server_command(kind)), env=default_env(home))
    return openai_codex.Codex(config)


def user_texts(request: Any) -> list[str]:
    return [text for role, text in request.input_texts() if role == "user" and not text.startswith("<")]


def wait_until_idle(thread: Any, turns: int) -> Any:
    """The thread once it has `turns` turns, none in progress and the last one's items readable (bounded:
    the SDK offers no handle for a compaction turn, which the server may add after `compact()` returns;
    upstream can report that turn completed a moment before thread/read shows its item)."""
    for _ in range(IDLE_POLLS):
        read = thread.read(include_turns=True).thread
        settled = len(read.turns) >= turns and all(turn.status.value != "inProgress" for turn in read.turns)
        if settled and read.turns[-1].items:
            return read
        time.sleep(0.05)
    raise AssertionError("the thread still has a turn in progress")


def test_run_returns_the_final_response_and_read_shows_the_turn(
    codex: Any, model: ResponsesApiStub, tmp_path: Path
) -> None:
    model.enqueue(text_reply("pong from the stand-in"))
    thread = codex.thread_start(cwd=str(tmp_path))
    result = thread.run("ping")
    assert result.status.value == "completed"
    assert result.final_response == "pong from the stand-in"
    assert result.usage is not None
    assert result.usage.last.total_tokens == 15
    read = thread.read(include_turns=True).thread
    assert read.id == thread.id
    assert [turn.id for turn in read.turns] == [result.id]
    kinds = [item.root.type for item in read.turns[0].items]
    assert kinds == ["userMessage", "agentMessage"]


def test_stream_yields_deltas_then_the_completed_turn(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    model.enqueue(text_reply("streamed in pieces", chunks=3))
    thread = codex.thread_start(cwd=str(tmp_path))
    handle = thread.turn("hi")
    events = list(handle.stream())
    methods = [event.method for event in events]
    assert methods[0] == "turn/started"
    assert methods[-1] == "turn/completed"
    deltas = [event.payload.delta for event in events if event.method == "item/agentMessage/delta"]
    assert "".join(deltas) == "streamed in pieces"
    assert events[-1].payload.turn.status.value == "completed"


def test_list_shows_threads_that_have_turns(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    model.enqueue(text_reply("one"))
    used = codex.thread_start(cwd=str(tmp_path))
    used.run("first")
    codex.thread_start(cwd=str(tmp_path))  # no turn yet: not listed
    listed = codex.thread_list()
    assert [thread.id for thread in listed.data] == [used.id]
    assert listed.data[0].preview == "first"


def test_fork_continues_from_the_copied_history(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    model.enqueue(text_reply("pong one"), text_reply("on the fork"))
    thread = codex.thread_start(cwd=str(tmp_path))
    thread.run("ping")
    fork = codex.thread_fork(thread.id)
    assert fork.id != thread.id
    assert fork.read().thread.forked_from_id == thread.id
    assert fork.run("fork question").final_response == "on the fork"
    sent = model.wait_for_posts(2)[-1]
    assert user_texts(sent) == ["ping", "fork question"]


def test_resume_after_restart_replays_the_history(
    app_server_kind: str, codex_home: Path, model: ResponsesApiStub, tmp_path: Path
) -> None:
    model.enqueue(text_reply("remembered"), text_reply("second life"))
    with sdk(app_server_kind, codex_home) as first:
        first.login_api_key("sk-from-the-sdk")
        thread = first.thread_start(cwd=str(tmp_path))
        thread.run("before restart")
    with sdk(app_server_kind, codex_home) as second:
        second.login_api_key("sk-from-the-sdk")
        resumed = second.thread_resume(thread.id)
        assert resumed.id == thread.id
        assert resumed.run("after restart").final_response == "second life"
    sent = model.wait_for_posts(2)[-1]
    assert user_texts(sent) == ["before restart", "after restart"]


def test_archive_then_unarchive_brings_the_thread_back(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread = codex.thread_start(cwd=str(tmp_path))
    thread.run("keep me")
    codex.thread_archive(thread.id)
    assert [t.id for t in codex.thread_list().data] == []
    assert [t.id for t in codex.thread_list(archived=True).data] == [thread.id]
    restored = codex.thread_unarchive(thread.id)
    assert restored.id == thread.id
    assert [t.id for t in codex.thread_list().data] == [thread.id]
    assert [t.id for t in codex.thread_list(archived=True).data] == []


def test_set_name_is_what_read_and_list_show(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread = codex.thread_start(cwd=str(tmp_path))
    thread.run("hello")
    thread.set_name("Release checklist")
    assert thread.read().thread.name == "Release checklist"
    assert [t.name for t in codex.thread_list().data] == ["Release checklist"]


def test_compact_replaces_the_history_later_turns_send(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    model.enqueue(text_reply("a long answer"), compaction_reply("SUMMARY-BLOB"), text_reply("after compaction"))
    thread = codex.thread_start(cwd=str(tmp_path))
    thread.run("ping")
    thread.compact()
    read = wait_until_idle(thread, turns=2)
    assert [item.root.type for item in read.turns[-1].items] == ["contextCompaction"]
    assert thread.run("next").final_response == "after compaction"
    compact_request, next_request = model.wait_for_posts(3)[1:]
    assert compact_request.body is not None
    assert compact_request.body["input"][-1] == {"type": "compaction_trigger"}
    assert next_request.body is not None
    kinds = [item.get("type") for item in next_request.body["input"]]
    assert {"type": "compaction", "encrypted_content": "SUMMARY-BLOB"}.items() <= next_request.body["input"][
        kinds.index("compaction")
    ].items()
    assert "a long answer" not in str(next_request.body)
    assert user_texts(next_request) == ["ping", "next"]


def test_steer_adds_input_to_the_turn_in_flight(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    slow = slow_reply("thinking ", "about it")
    model.enqueue(slow, text_reply("steered answer"))
    thread = codex.thread_start(cwd=str(tmp_path))
    handle = thread.turn("ping")
    stream = handle.stream()
    for event in stream:
        if event.method == "item/agentMessage/delta":
            break
    assert handle.steer("also consider this").turn_id == handle.id
    model.wait_for_posts(2)
    slow.release()
    events = list(stream)
    assert events[-1].payload.turn.id == handle.id
    assert events[-1].payload.turn.status.value == "completed"
    steered = [
        event.payload.item.root
        for event in events
        if event.method == "item/completed" and event.payload.item.root.type == "userMessage"
    ]
    assert [part.root.text for part in steered[0].content] == ["also consider this"]
    assert user_texts(model.posts()[1]) == ["ping", "also consider this"]


def test_interrupt_stops_the_turn(codex: Any, model: ResponsesApiStub, tmp_path: Path) -> None:
    slow = slow_reply("partial ", "never sent")
    model.enqueue(slow)
    thread = codex.thread_start(cwd=str(tmp_path))
    handle = thread.turn("ping")
    stream = handle.stream()
    for event in stream:
        if event.method == "item/agentMessage/delta":
            break
    handle.interrupt()
    events = list(stream)
    slow.release()
    assert events[-1].payload.turn.status.value == "interrupted"
    assert thread.read(include_turns=True).thread.turns[0].status.value == "interrupted"


def test_models_lists_one_default_and_names_every_model(codex: Any) -> None:
    listed = codex.models()
    assert listed.data
    assert [model.is_default for model in listed.data].count(True) == 1
    for model in listed.data:
        assert model.id
        assert model.display_name
    hidden = codex.models(include_hidden=True)
    assert {model.id for model in listed.data} <= {model.id for model in hidden.data}
