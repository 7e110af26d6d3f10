"""The stdio server as a process: bursts, overload, end of input. Ours only (upstream drops bursts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

INIT = {"id": "init", "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}


def run_server(lines: list[dict[str, Any] | str], tmp_path: Path, *args: str) -> tuple[list[dict[str, Any]], str]:
    """Feed all lines in one write, close stdin, collect every response line."""
    payload = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    env = {**os.environ, "CODEX_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "server", *args],
        input=payload.encode(),
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.decode().splitlines()], done.stderr.decode()


def metadata(request_id: int) -> dict[str, Any]:
    return {"id": request_id, "method": "fs/getMetadata", "params": {"path": "/"}}


def test_a_burst_of_1000_requests_gets_1000_answers(tmp_path: Path) -> None:
    responses, _ = run_server([INIT, *(metadata(i) for i in range(1000))], tmp_path)
    answered = {r["id"] for r in responses if r["id"] != "init"}
    assert answered == set(range(1000))
    assert all("result" in r or r["error"]["code"] == -32001 for r in responses)


def test_overload_is_reported_with_upstreams_code_and_every_request_is_answered(tmp_path: Path) -> None:
    """Reads past INLINE_READ_BYTES run in a worker thread, so they really are in flight together."""
    big = tmp_path / "big"
    big.write_bytes(b"x" * (2 << 20))
    read = [{"id": i, "method": "fs/readFile", "params": {"path": str(big)}} for i in range(300)]
    responses, _ = run_server([INIT, *read], tmp_path, "--max-in-flight", "4")
    by_id = {r["id"]: r for r in responses if r["id"] != "init"}
    assert set(by_id) == set(range(300))
    overloaded = [r for r in by_id.values() if "error" in r]
    assert overloaded, "a 300-request burst against a limit of 4 must be refused in part"
    assert {json.dumps(r["error"]) for r in overloaded} == {
        json.dumps({"code": -32001, "message": "Server overloaded; retry later."})
    }
    assert any("result" in r for r in by_id.values())


def test_requests_received_before_end_of_input_are_still_answered(tmp_path: Path) -> None:
    responses, _ = run_server([INIT, metadata(1), metadata(2)], tmp_path)
    assert {r["id"] for r in responses} == {"init", 1, 2}


def test_malformed_lines_are_logged_and_skipped(tmp_path: Path) -> None:
    responses, stderr = run_server([INIT, "{not json", "[1,2]", metadata(5)], tmp_path)
    assert [r["id"] for r in responses] == ["init", 5]
    assert stderr.count("app-server:") == 2


def test_input_ending_before_initialize_exits_zero(tmp_path: Path) -> None:
    responses, _ = run_server([metadata(1)], tmp_path)
    assert responses == [{"error": {"code": -32600, "message": "Not initialized"}, "id": 1}]


def test_help_describes_the_listen_option() -> None:
    done = subprocess.run([sys.executable, "-m", "server", "--help"], capture_output=True, text=True, check=True)
    assert "--listen" in done.stdout


@pytest.mark.parametrize("argv", [["--listen", "http://127.0.0.1:1"], ["--max-in-flight", "0"]])
def test_bad_command_lines_fail_with_one_line(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "server", *argv], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_requests_from_a_regular_file_are_answered(tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(m) + "\n" for m in [INIT, metadata(1), metadata(2)]))
    with requests.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "server"],
            stdin=stdin,
            capture_output=True,
            env={**os.environ, "CODEX_HOME": str(tmp_path / "home")},
            timeout=60,
            check=True,
        )
    assert {json.loads(line)["id"] for line in done.stdout.splitlines()} == {"init", 1, 2}


def test_responses_still_buffered_at_exit_reach_a_slow_reader(tmp_path: Path) -> None:
    """The client reads only after the server saw end of input: nothing may be cut off at exit."""
    payload = "".join(json.dumps(m) + "\n" for m in [INIT, *(metadata(i) for i in range(2000))])
    process = subprocess.Popen(
        [sys.executable, "-m", "server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CODEX_HOME": str(tmp_path / "home")},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    writer = threading.Thread(target=lambda: (process.stdin.write(payload.encode()), process.stdin.close()))
    writer.start()
    time.sleep(1.0)  # let the pipe fill so responses wait in the server's own buffer
    lines = process.stdout.read().decode().splitlines()
    writer.join(30)
    assert process.wait(60) == 0
    assert len(lines) == 2001
    assert {json.loads(line)["id"] for line in lines} == {"init", *range(2000)}


def test_reading_ahead_keeps_every_line_in_order_and_leaves_the_rest_unread() -> None:
    """Lines read while the server loads join the backlog in order, an unfinished line waits in the
    reader, and once `glance` has what it looks for the thread reads no further: phase two gets the rest."""
    from server.transport.stdio import LineReader, ReadAhead

    read_end, write_end = os.pipe()
    try:
        reader, backlog, glanced = LineReader(), [b"before"], []

        def glance(line: bytes) -> bool:
            glanced.append(line)
            return line == b"search"

        ahead = ReadAhead(reader, backlog, glance, source=read_end)
        os.write(write_end, b"one\ntwo\nsearch\npart")
        for _ in range(500):  # 5 s at most
            if not ahead._thread.is_alive():
                break
            time.sleep(0.01)
        os.write(write_end, b"ial\nlater\n")
        ahead.stop()
        assert backlog == [b"before", b"one", b"two", b"search"]
        assert glanced == [b"one", b"two", b"search"]
        assert reader.pending == [b"part"], "the bytes after the line glance wanted were lost"
        assert os.read(read_end, 100) == b"ial\nlater\n"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_stopping_the_read_ahead_wakes_a_thread_waiting_for_input() -> None:
    from server.transport.stdio import LineReader, ReadAhead

    read_end, write_end = os.pipe()
    try:
        backlog: list[bytes] = []
        ahead = ReadAhead(LineReader(), backlog, lambda line: False, source=read_end)
        ahead.stop()
        assert not ahead._thread.is_alive()
        os.write(write_end, b"after\n")
        assert backlog == []
        assert os.read(read_end, 100) == b"after\n"
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize(
    ("message", "walked"),
    [
        (
            {"id": 1, "method": "fuzzyFileSearch/sessionStart", "params": {"sessionId": "s", "roots": ["/a", "/b"]}},
            "/a",
        ),
        ({"id": 1, "method": "fuzzyFileSearch", "params": {"query": "re nd", "roots": ["/a"]}}, "/a"),
        ({"id": 1, "method": "fuzzyFileSearch", "params": {"query": "  ", "roots": ["/a"]}}, None),
        ({"id": 1, "method": "fuzzyFileSearch/sessionStart", "params": {"sessionId": "s", "roots": []}}, None),
        ({"id": 1, "method": "fuzzyFileSearch/sessionStart", "params": {"sessionId": "s", "roots": [3]}}, None),
        ({"id": 1, "method": "fs/readDirectory", "params": {"path": "/a", "roots": ["/a"]}}, None),
        ({"method": "initialized"}, None),
        ([1, 2], None),
        ("not json", None),
    ],
)
def test_only_a_request_that_walks_its_roots_starts_a_walk_ahead(
    monkeypatch: pytest.MonkeyPatch, message: Any, walked: str | None
) -> None:
    from server import __main__ as entry
    from server.search import helper

    started: list[str] = []
    monkeypatch.setattr(helper, "walk_ahead", lambda root: started.append(root) or True)
    line = message.encode() if isinstance(message, str) else json.dumps(message).encode()
    assert entry.walk_ahead(line) is (walked is not None)
    assert started == ([walked] if walked else [])
