"""Killing a stdio server (SIGKILL) in the middle of its work, for the tests that check what a kill leaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

POLLS = 20_000
"""Checks of the moment to kill, 0.5 ms apart: ten seconds at most."""
INITIALIZE = {"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "kill-test", "version": "1"}}}


def start_server(home: Path, stdout: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """`python -m server` on stdio with `home` as its CODEX_HOME."""
    return subprocess.Popen(
        [sys.executable, "-m", "server"],
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CODEX_HOME": str(home)},
    )


def kill_when(home: Path, messages: Sequence[dict[str, Any]], ready: Callable[[int], bool], after: float = 0.0) -> bool:
    """Start a server, send it `messages` in one write, and SIGKILL it once `ready(pid)` holds and `after`
    more seconds have passed (or when the polls run out). True when it was still running at that moment,
    so the kill landed in the middle of the work and not after it."""
    server = start_server(home)
    caught = False
    try:
        assert server.stdin is not None
        server.stdin.write("".join(json.dumps(message) + "\n" for message in messages).encode())
        server.stdin.flush()
        for _ in range(POLLS):
            if ready(server.pid):
                time.sleep(after)
                caught = server.poll() is None
                break
            if server.poll() is not None:
                break
            time.sleep(0.0005)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
        if server.stdin is not None:
            server.stdin.close()
    return caught
