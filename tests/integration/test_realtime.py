"""Realtime conversations against the websocket stand-in (and the Responses stand-in for handoff turns).

Same tests against ours and upstream. One documented difference: when a session fails before its socket
is up, upstream sends the error and no `closed`; ours ends every session with exactly one `closed`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.realtime_api import RealtimeApiStub
from fixtures.responses_api import ResponsesApiStub, text_reply


@pytest.fixture
def realtime() -> Iterator[RealtimeApiStub]:
    with RealtimeApiStub() as stub:
        yield stub


@pytest.fixture
def connect(app_server_factory: AppServerFactory, realtime: RealtimeApiStub, model: ResponsesApiStub) -> Any:
    def start(*, login: bool = True, extra_config: str = "") -> tuple[Client, str]:
        config = model.config_toml() + realtime.config_toml() + extra_config
        client = app_server_factory(config_toml=config, experimental_api=True)
        if login:
            client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-realtime-test"})
        thread_id = client.request("thread/start", {"cwd": str(client.codex_home)})["thread"]["id"]
        return client, thread_id

    return start


def start_session(client: Client, thread_id: str, **params: Any) -> dict[str, Any]:
    assert client.request("thread/realtime/start", {"threadId": thread_id, "outputModality": "text", **params}) == {}
    started: dict[str, Any] = client.wait_for("thread/realtime/started", threadId=thread_id)
    return started


def closing(client: Client, thread_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Wait for the one `closed`, then check no second one follows; returns (errors, closed)."""
    closed = client.wait_for("thread/realtime/closed", threadId=thread_id)
    client.assert_no("thread/realtime/closed", within=0.5, threadId=thread_id)
    client.settle()  # an error sent before `closed` is buffered by now, even under chaos
    errors = [n.params for n in client.drain("thread/realtime/error") if n.params["threadId"] == thread_id]
    return errors, closed


def test_text_session_round_trip(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect()
    started = start_session(client, thread_id)
    assert started["version"] == "v2"
    assert started["realtimeSessionId"] == thread_id
    connection = realtime.wait_connected()
    assert connection.path.startswith("/v1/realtime?model=")
    assert connection.headers.get("authorization", connection.headers.get("Authorization")) == "Bearer sk-realtime-test"
    update = realtime.wait_for_client_event("session.update")[0]
    assert update["session"]["output_modalities"] == ["text"]
    client.request("thread/realtime/appendText", {"threadId": thread_id, "text": "hello stub"})
    created = realtime.wait_for_client_event("conversation.item.create")[0]
    assert created["item"]["content"][0]["text"] == "[USER] hello stub"
    realtime.send(
        {"type": "response.output_text.delta", "delta": "Hi "},
        {"type": "response.output_text.delta", "delta": "there"},
        {"type": "response.output_text.done", "text": "Hi there"},
    )
    done = client.wait_for("thread/realtime/transcript/done", threadId=thread_id, role="assistant")
    assert done["text"] == "Hi there"
    client.request("thread/realtime/stop", {"threadId": thread_id})
    errors, closed = closing(client, thread_id)
    assert errors == []
    assert closed["reason"] == "requested"


def test_transcripts_carry_roles_and_accumulate(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect()
    start_session(client, thread_id)
    realtime.send(
        {"type": "conversation.item.input_audio_transcription.delta", "delta": "fix "},
        {"type": "conversation.item.input_audio_transcription.delta", "delta": "the bug"},
        {"type": "conversation.item.input_audio_transcription.completed", "transcript": "fix the bug"},
    )
    user_done = client.wait_for("thread/realtime/transcript/done", threadId=thread_id, role="user")
    assert user_done["text"] == "fix the bug"
    segment = client.wait_for(
        "thread/realtime/item/completed", threadId=thread_id, **{"item.type": "transcriptSegment", "item.role": "user"}
    )
    assert segment["item"]["text"] == "fix the bug"
    client.settle()
    notes = [n for n in client.drain("thread/realtime/transcript/delta") if n.params["role"] == "user"]
    assert [n.params["delta"] for n in sorted(notes, key=lambda n: n.received)] == ["fix ", "the bug"]


def test_item_added_is_forwarded_raw(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect()
    start_session(client, thread_id)
    raw = {"type": "message", "id": "item_9", "role": "assistant", "content": [{"type": "output_text", "text": "x"}]}
    realtime.send({"type": "conversation.item.added", "item": raw})
    added = client.wait_for("thread/realtime/itemAdded", threadId=thread_id, **{"item.id": "item_9"})
    assert added["item"] == raw


def test_handoff_is_forwarded_with_transcript_and_answered_by_a_turn(
    connect: Any, realtime: RealtimeApiStub, model: ResponsesApiStub
) -> None:
    client, thread_id = connect()
    start_session(client, thread_id)
    model.enqueue(text_reply("the agent did it"))
    realtime.send(
        {"type": "conversation.item.input_audio_transcription.completed", "transcript": "hello"},
        {
            "type": "conversation.item.done",
            "item": {
                "type": "function_call",
                "name": "background_agent",
                "call_id": "call_h1",
                "id": "item_h1",
                "arguments": json.dumps({"prompt": "run the tests"}),
            },
        },
    )
    handoff = client.wait_for("thread/realtime/itemAdded", threadId=thread_id, **{"item.type": "handoff_request"})
    assert handoff["item"]["handoff_id"] == "call_h1"
    assert handoff["item"]["input_transcript"] == "run the tests"
    assert handoff["item"]["active_transcript"][-1] == {"role": "user", "text": "run the tests"}
    assert {"role": "user", "text": "hello"} in handoff["item"]["active_transcript"]
    client.wait_for("turn/completed", threadId=thread_id)
    sent_to_model = model.wait_for_posts(1)[0]
    delegation = [text for role, text in sent_to_model.input_texts() if "<realtime_delegation>" in text]
    assert len(delegation) == 1
    assert "<input>run the tests</input>" in delegation[0]
    outputs = realtime.wait_for_client_event("conversation.item.create", count=2)
    texts = json.dumps(outputs)
    assert "[BACKEND] the agent did it" in texts
    assert any(o["item"].get("call_id") == "call_h1" for o in outputs if o["item"]["type"] == "function_call_output")


def test_server_error_event_gives_one_error_and_one_closed(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect()
    start_session(client, thread_id)
    realtime.send({"type": "error", "error": {"message": "stub says no"}})
    errors, closed = closing(client, thread_id)
    assert [e["message"] for e in errors] == ["stub says no"]
    assert closed["reason"] == "error"


def test_dropped_socket_mid_stream_gives_one_error_and_one_closed(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect()
    start_session(client, thread_id)
    realtime.send({"type": "response.output_text.delta", "delta": "half"})
    client.wait_for("thread/realtime/transcript/delta", threadId=thread_id)
    realtime.drop()
    errors, closed = closing(client, thread_id)
    assert len(errors) == 1
    assert closed["reason"] == "error"


def test_clean_close_from_the_api_ends_without_error(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect()
    start_session(client, thread_id)
    realtime.close_cleanly()
    errors, closed = closing(client, thread_id)
    assert errors == []
    assert closed["reason"] == "transport_closed"


def startup_failure(client: Client, thread_id: str, app_server_kind: str) -> str:
    """The one error of a session that never got its socket up; ours then closes exactly once."""
    error = client.wait_for("thread/realtime/error", threadId=thread_id)
    if app_server_kind == "codex":
        client.assert_no("thread/realtime/closed", within=0.5, threadId=thread_id)  # upstream: error, no closed
    else:
        closing(client, thread_id)
    client.assert_no("thread/realtime/started", within=0.1, threadId=thread_id)
    message: str = error["message"]
    return message


def test_refused_start_gives_exactly_one_error(connect: Any, realtime: RealtimeApiStub, app_server_kind: str) -> None:
    client, thread_id = connect()
    realtime.refuse_status = 403
    client.request("thread/realtime/start", {"threadId": thread_id, "outputModality": "text"})
    startup_failure(client, thread_id, app_server_kind)


def test_start_without_api_key_is_refused(connect: Any, app_server_kind: str) -> None:
    client, thread_id = connect(login=False)
    client.request("thread/realtime/start", {"threadId": thread_id, "outputModality": "text"})
    assert "requires API key auth" in startup_failure(client, thread_id, app_server_kind)


def test_text_modality_requires_v2(connect: Any, app_server_kind: str) -> None:
    client, thread_id = connect()
    client.request("thread/realtime/start", {"threadId": thread_id, "outputModality": "text", "version": "v1"})
    assert startup_failure(client, thread_id, app_server_kind) == "text realtime output modality requires realtime v2"


def test_configured_version_is_used_and_reported(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect(extra_config='[realtime]\nversion = "v1"\n')
    client.request("thread/realtime/start", {"threadId": thread_id, "outputModality": "audio"})
    started = client.wait_for("thread/realtime/started", threadId=thread_id)
    assert started["version"] == "v1"
    assert "intent=quicksilver" in realtime.wait_connected().path


def test_missing_output_modality_and_unknown_thread_are_invalid(connect: Any) -> None:
    client, thread_id = connect()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("thread/realtime/start", {"threadId": thread_id})
    assert "missing field `outputModality`" in excinfo.value.message
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("thread/realtime/start", {"threadId": "nope", "outputModality": "text"})
    assert excinfo.value.code == -32600


def test_stop_during_start_still_ends_once(connect: Any, realtime: RealtimeApiStub) -> None:
    client, thread_id = connect()
    client.request("thread/realtime/start", {"threadId": thread_id, "outputModality": "text"})
    client.request("thread/realtime/stop", {"threadId": thread_id})
    closed = client.wait_for("thread/realtime/closed", threadId=thread_id)
    assert closed["reason"] in {"requested", "error"}
    client.assert_no("thread/realtime/closed", within=0.5, threadId=thread_id)


def test_realtime_methods_need_the_experimental_capability(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    client = app_server_factory(experimental_api=False)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("thread/realtime/start", {"threadId": "x", "outputModality": "text"})
    assert "requires experimentalApi capability" in excinfo.value.message
