"""A server's output exactly as it was written, for the message-order rule.

stdout is one end of a SOCK_SEQPACKET socket pair, which keeps record boundaries: each read returns exactly
what one write(2) wrote. So a test sees whether a response shares a write with a notification, which a pipe
(where writes coalesce) cannot tell.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

from codex_app_harness.pytest_plugin import server_command
from codex_app_harness.transports import default_env

Write = list[dict[str, Any]]
MAX_WRITES = 500


def server_writes(kind: str, codex_home: Path, requests: list[dict[str, Any]], until: str) -> list[Write]:
    """Initialize, send `requests` one by one (each after the previous one's response), and return every write
    up to the one holding the notification `until`."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    process = subprocess.Popen(
        server_command(kind),
        stdin=subprocess.PIPE,
        stdout=theirs,
        stderr=subprocess.DEVNULL,
        env=default_env(codex_home),
        cwd=codex_home.parent,
    )
    theirs.close()
    writes: list[Write] = []
    ours.settimeout(30)

    def send(message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message).encode() + b"\n")
        process.stdin.flush()

    def read_until(done: Any) -> None:
        for _ in range(MAX_WRITES):
            record = ours.recv(1 << 22)
            if not record:
                raise AssertionError("the server closed its output")
            writes.append([json.loads(line) for line in record.splitlines()])
            if any(done(message) for message in writes[-1]):
                return
        raise AssertionError(f"gave up after {MAX_WRITES} writes")

    try:
        send({"id": "init", "method": "initialize", "params": {"clientInfo": {"name": "raw", "version": "1"}}})
        read_until(lambda message: message.get("id") == "init")
        send({"method": "initialized"})
        for request in requests:
            send(request)
            read_until(lambda message, wanted=request["id"]: message.get("id") == wanted)
        if not any(message.get("method") == until for write in writes for message in write):
            read_until(lambda message: message.get("method") == until)
        return writes
    finally:
        process.kill()
        process.wait()
        ours.close()


def index_of_response(writes: list[Write], request_id: Any) -> int:
    [index] = [position for position, write in enumerate(writes) if any(m.get("id") == request_id for m in write)]
    return index


def methods(writes: list[Write]) -> list[str]:
    return [str(message["method"]) for write in writes for message in write if "method" in message]
