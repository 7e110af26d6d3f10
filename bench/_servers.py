"""Starting ours and upstream the same way, for side-by-side numbers."""

from __future__ import annotations

import compileall
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from codex_app_harness.upstream import codex_binary

KINDS = ("python", "codex")
INIT_LINE = json.dumps({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "bench", "version": "1"}}})


PROJECT = Path(__file__).resolve().parent.parent


@functools.cache
def compile_project() -> None:
    """Byte-compile our packages once, as installing a wheel does.

    Run from a source checkout under PYTHONDONTWRITEBYTECODE (common in containers), every process would
    otherwise compile each of our modules from source: about a fifth of a fresh process's start, a cost
    no installed server pays.
    """
    for package in ("server", "codex_app_tools"):
        compileall.compile_dir(PROJECT / package, quiet=1)


def command(kind: str) -> list[str]:
    """Ours through its console script (what users run), upstream through its binary."""
    if kind == "codex":
        return [str(codex_binary()), "app-server"]
    compile_project()
    script = Path(sys.executable).with_name("app-server")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server"]


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
    env["CODEX_HOME"] = str(home)
    return env


class StdioServer:
    """A server process driven line by line, synchronously (no asyncio overhead in the measurement)."""

    def __init__(self, kind: str, *args: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="bench-home-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
        self.process = subprocess.Popen(
            [*command(kind), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment(self.home),
        )
        self._next_id = 1

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def read_response(self, request_id: int | str) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("server exited")
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == request_id and "method" not in message:
                return message

    def request(self, method: str, params: Any) -> dict[str, Any]:
        request_id = self._next_id
        self._next_id += 1
        self.send(json.dumps({"id": request_id, "method": method, "params": params}))
        return self.read_response(request_id)

    def initialize(self) -> dict[str, Any]:
        self.send(INIT_LINE)
        return self.read_response(0)

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.home, ignore_errors=True)


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
        "n": len(samples),
    }


def ratio(ours: float, theirs: float) -> float:
    return round(ours / theirs, 3) if theirs else float("nan")
