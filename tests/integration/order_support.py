"""A stdio server observed write by write: every write(2)/writev(2) to its stdout, as the kernel saw it.

A pipe reader cannot tell two quick writes from one, so the server runs under strace, which records each
system call with its bytes (`-xx`: every byte hex-escaped, so the record never contains a quote). Works for
any server binary, ours or upstream's.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from codex_app_harness.pytest_plugin import server_command
from codex_app_harness.transports import default_env

TIMEOUT = 30.0
INITIALIZE = {"clientInfo": {"name": "order", "version": "1"}, "capabilities": {"experimentalApi": True}}

_WRITE = re.compile(r"^(\d+)\s+(?:write|writev)\(1<([^>]*)>, (.*)$")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (?:write|writev) resumed>.*\)\s+=\s+(-?\d+)")
_RETURNED = re.compile(r"\)\s+=\s+(-?\d+)(?:\s.*)?$")
_STRING = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')


def strace_available() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-qq", "-e", "trace=none", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def _unhex(escaped: str) -> bytes:
    return bytes.fromhex(escaped.replace("\\x", ""))


def written_chunks(trace: str, target: str) -> list[bytes]:
    """The bytes of each write(2)/writev(2) to fd 1 while fd 1 was `target` (strace -y names it, e.g.
    `pipe:[1234]`), in order. Children the server spawns have their own fd 1 and are left out. A write
    the pipe only partly took counts for what it took: strace shows the whole buffer and the return value
    (on the same line, or on a `resumed` line when another thread's call came in between)."""
    chunks: list[bytes] = []
    pending: dict[str, bytes] = {}
    for line in trace.splitlines():
        resumed = _RESUMED.match(line)
        if resumed:
            pid, returned = resumed.groups()
            if pid in pending and int(returned) > 0:
                chunks.append(pending.pop(pid)[: int(returned)])
            continue
        match = _WRITE.match(line)
        if not match or _unhex(match.group(2)).decode() != target:
            continue
        pid, _, rest = match.groups()
        data = b"".join(_unhex(part) for part in _STRING.findall(rest))
        if rest.endswith("<unfinished ...>"):
            pending[pid] = data
            continue
        returned = _RETURNED.search(rest)
        if returned and int(returned.group(1)) > 0:
            chunks.append(data[: int(returned.group(1))])
    return chunks


def parse_writes(chunks: list[bytes]) -> list[list[dict[str, Any]]]:
    """Each write, as the JSON messages it completed (a write may carry several lines, or end mid-line)."""
    messages: list[list[dict[str, Any]]] = []
    partial = b""
    for data in chunks:
        partial += data
        *complete, partial = partial.split(b"\n")
        messages.append([json.loads(line) for line in complete if line])
    return [batch for batch in messages if batch]


class TracedServer:
    def __init__(self, kind: str, home: Path, cwd: Path) -> None:
        self.trace = home.parent / "stdout.trace"
        command = ["strace", "-f", "-qq", "-y", "-xx", "-s", "100000000", "-e", "trace=write,writev"]
        command += ["-e", "signal=none", "-o", str(self.trace), *server_command(kind)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=default_env(home),
            cwd=cwd,
        )
        assert self.process.stdout is not None
        self.stdout_name = f"pipe:[{os.fstat(self.process.stdout.fileno()).st_ino}]"
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.request("init", "initialize", INITIALIZE)
        self.wait(lambda m: m.get("id") == "init")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.messages.put(json.loads(line))
        self.messages.put(None)

    def request(self, request_id: str, method: str, params: Any) -> None:
        assert self.process.stdin is not None
        line = json.dumps({"id": request_id, "method": method, "params": params})
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def wait(self, matches: Any) -> dict[str, Any]:
        for message in self.seen:
            if matches(message):
                return message
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            message = self.messages.get(timeout=left)
            assert message is not None, "the server exited"
            self.seen.append(message)
            if matches(message):
                return message
        raise TimeoutError("no matching message")

    def notification(self, method: str, **fields: Any) -> dict[str, Any]:
        def matches(message: dict[str, Any]) -> bool:
            params = message.get("params") or {}
            return message.get("method") == method and all(_dig(params, k) == v for k, v in fields.items())

        return self.wait(matches)

    def response(self, request_id: str) -> dict[str, Any]:
        return self.wait(lambda m: m.get("id") == request_id and "method" not in m)

    def finish(self) -> list[list[dict[str, Any]]]:
        """End the server (end of input) and return its writes."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return parse_writes(written_chunks(self.trace.read_text(), self.stdout_name))


def _dig(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value
