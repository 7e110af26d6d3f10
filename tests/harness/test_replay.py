"""Record and replay: a session with the upstream binary recorded live by `--harness-record`, then served
back by `codex_app_harness.replay` (stdio and websocket) to the same client code, which passes without the
binary; a request the recording lacks fails with a message naming it.

The recording is made during the test run, from the upstream binary in the test environment, rather than
committed: it then always matches the pinned upstream version, and a change in what upstream sends shows up
here instead of in a stale file.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.replay import Replay, load
from codex_app_harness.replay import main as replay_main
from codex_app_harness.websocket_server import WebSocketServer
from fixtures.responses_api import ResponsesApiStub, text_reply
from tests.harness.conftest import FakeScript, InnerPytest
from tests.harness.steps import await_answer, expect, notify, on, reply, request

CLIENT_SUITE = """
import os
from pathlib import Path

import pytest

from codex_app_harness import RpcResponseError

WORKDIR = str(Path(__file__).parent)


def start(app_server_factory):
    # Recording against upstream needs the model stand-in; a replay needs no configuration at all.
    client = app_server_factory(config_toml=os.environ.get("MODEL_CONFIG_TOML"), experimental_api=True)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test-replay"})
    return client


def test_a_turn(app_server_factory):
    client = start(app_server_factory)
    thread = client.request("thread/start", {"cwd": WORKDIR})["thread"]
    client.wait_for("thread/started", match={"thread.id": thread["id"]})
    text = [{"type": "text", "text": "ping"}]
    turn = client.request("turn/start", {"threadId": thread["id"], "input": text})["turn"]
    done = client.wait_for("turn/completed", match={"turn.id": turn["id"]})
    assert done["turn"]["status"] == "completed"
    message = client.wait_for("item/completed", match={"threadId": thread["id"], "item.type": "agentMessage"})
    assert message["item"]["text"] == "pong"


def test_a_request_outside_the_recording(app_server_factory):
    client = start(app_server_factory)
    with pytest.raises(RpcResponseError) as failure:
        client.request("thread/list", {"limit": 3})
    assert "request thread/list with params {\\"limit\\": 3} is not in the recording" in failure.value.message
"""
RECORDED_TEST = "test_inner.py::test_a_turn"


@dataclass
class UpstreamSession:
    suite: InnerPytest
    recording: Path


@pytest.fixture(scope="module")
def upstream_session(tmp_path_factory: pytest.TempPathFactory) -> UpstreamSession:
    """The client suite's turn, run once against the upstream binary with --harness-record."""
    suite = InnerPytest(tmp_path_factory.mktemp("client-suite"))
    suite.makepyfile(CLIENT_SUITE)
    records = tmp_path_factory.mktemp("records")
    with ResponsesApiStub() as model:
        model.enqueue(text_reply("pong"))
        result = suite.run(
            RECORDED_TEST,
            "--app-server=codex",
            f"--harness-record={records}",
            env={"MODEL_CONFIG_TOML": model.config_toml()},
        )
    result.assert_outcomes(passed=1)
    return UpstreamSession(suite, records / "test_inner.py__test_a_turn.jsonl")


def replay_command(recording: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "codex_app_harness.replay", str(recording), *args]


def test_the_recording_holds_every_message_both_ways_with_timing_and_no_secrets(
    upstream_session: UpstreamSession,
) -> None:
    records = [json.loads(line) for line in upstream_session.recording.read_text().splitlines()]
    start, *messages = records
    assert start["connection"] == 0
    assert start["start"]["test"] == RECORDED_TEST
    assert "app-server" in start["start"]["server"]
    assert {record["from"] for record in messages} == {"client", "server"}
    times = [record["t"] for record in messages]
    assert times == sorted(times)
    sent = [record["message"].get("method") for record in messages if record["from"] == "client"]
    assert sent[:3] == ["initialize", "account/login/start", "thread/start"]
    received = {record["message"].get("method") for record in messages if record["from"] == "server"}
    assert {"thread/started", "turn/started", "item/completed", "turn/completed"} <= received
    # The login's API key never reaches the file; the replay matches any key against its placeholder.
    assert "sk-test-replay" not in upstream_session.recording.read_text()
    login = next(record["message"] for record in messages if record["message"].get("method") == "account/login/start")
    assert login["params"] == {"type": "apiKey", "apiKey": "<redacted>"}


def test_the_same_client_code_passes_against_the_replay_on_stdio(upstream_session: UpstreamSession) -> None:
    """No binary and no model: the replay answers as upstream did, and refuses what it never saw."""
    server = "--app-server=" + shlex.join(replay_command(upstream_session.recording))
    upstream_session.suite.run(server, "-v").assert_outcomes(passed=2)


def test_the_same_client_code_passes_against_the_replay_on_a_websocket(upstream_session: UpstreamSession) -> None:
    server = WebSocketServer.start(replay_command(upstream_session.recording, "--listen", "ws://127.0.0.1:0"))
    try:
        upstream_session.suite.run(f"--app-server={server.url}").assert_outcomes(passed=2)
    finally:
        assert server.stop() == 1  # the second test's request was not in the recording: the replay says so
    assert any("not in the recording" in line for line in server.stderr), server.stderr


def test_a_request_outside_the_recording_fails_loudly(upstream_session: UpstreamSession) -> None:
    with Client.spawn(replay_command(upstream_session.recording)) as client:
        client.initialize(experimental_api=True)
        with pytest.raises(RpcResponseError) as failure:
            client.request("model/list", {})
        assert failure.value.message.startswith("replay: request model/list with params {} is not in the recording")
        assert "recorded methods: account/login/start, initialize, thread/start, turn/start" in failure.value.message
        client.close_stdin()
        assert client.wait_exit() == 1
        assert any(line.startswith("replay: served 1 of 4 recorded requests; 1 not in") for line in client.stderr)


def test_server_requests_and_their_answers_replay_from_any_server(
    inner_pytest: InnerPytest, fake_script: FakeScript, tmp_path: Path
) -> None:
    """A scripted server asks the client for approval: the replay sends the request at the recorded point
    and goes on only once the client answers it."""
    inner_pytest.makepyfile(
        """
        def test_approval(app_server):
            app_server.respond_to("item/approve", {"decision": "accept"})
            app_server.request("test/go")
            answered = app_server.wait_for("fake/answered")
            assert answered["result"] == {"decision": "accept"}
        """
    )
    steps = (
        on("initialize", {"userAgent": "fake/0"}),
        expect("test/go"),
        reply("test/go"),
        request("item/approve", 7, command="ls"),
        await_answer(7),
        notify("test/after"),
    )
    records = tmp_path / "records"
    inner_pytest.run("--app-server=" + shlex.join(fake_script(*steps)), f"--harness-record={records}").assert_outcomes(
        passed=1
    )
    (recording,) = records.glob("*.jsonl")
    inner_pytest.run("--app-server=" + shlex.join(replay_command(recording))).assert_outcomes(passed=1)


def test_replay_help_and_a_missing_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as help_exit:
        replay_main(["--help"])
    assert help_exit.value.code == 0
    assert "Serve a --harness-record recording" in capsys.readouterr().out
    assert replay_main([str(tmp_path / "nothing.jsonl")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read")


def replay_of(tmp_path: Path, *messages: tuple[str, dict[str, Any]], ignore: tuple[str, ...] = ()) -> Replay:
    """The replay of a one-connection recording of these (sender, message) pairs, in wire order."""
    lines = [json.dumps({"connection": 0, "start": {"server": "s", "test": "t", "at": "now"}})]
    lines += [json.dumps({"connection": 0, "t": 0.0, "from": sender, "message": m}) for sender, m in messages]
    path = tmp_path / "recording.jsonl"
    path.write_text("\n".join(lines) + "\n")
    opening, steps = load(path)
    return Replay(opening, steps, source=str(path), ignored=ignore)


def test_a_replay_answers_with_the_clients_id_and_holds_a_response_until_its_request_comes(tmp_path: Path) -> None:
    replay = replay_of(
        tmp_path,
        ("client", {"id": 1, "method": "a", "params": {"x": 1}}),
        ("client", {"id": 2, "method": "b"}),
        ("server", {"id": 2, "result": "for b"}),
        ("server", {"id": 1, "result": "for a"}),
        ("server", {"method": "done", "params": {}}),
    )
    # This client sends b first: a's response waits for a, which then gets it with the client's own id.
    assert replay.receive({"id": "b-live", "method": "b"}) == [
        {"id": "b-live", "result": "for b"},
        {"method": "done", "params": {}},
    ]
    assert replay.receive({"id": "a-live", "method": "a", "params": {"x": 1}}) == [{"id": "a-live", "result": "for a"}]
    assert replay.unknown == []


def test_ignored_fields_and_redacted_secrets_match_any_value(tmp_path: Path) -> None:
    replay = replay_of(
        tmp_path,
        ("client", {"id": 1, "method": "login", "params": {"apiKey": "<redacted>", "cwd": "/tmp/a"}}),
        ("server", {"id": 1, "result": {}}),
        ignore=("cwd",),
    )
    assert replay.receive({"id": 7, "method": "login", "params": {"apiKey": "sk-live", "cwd": "/tmp/b"}}) == [
        {"id": 7, "result": {}}
    ]
    # Used once: the same request again is not in the recording, and says so.
    (again,) = replay.receive({"id": 8, "method": "login", "params": {"apiKey": "sk-live", "cwd": "/tmp/b"}})
    assert again["error"]["code"] == -32601
    assert "every recorded login (1) was already replayed" in again["error"]["message"]
