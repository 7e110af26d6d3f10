"""Websocket load: 500 concurrent authenticated connections x 20 fs/getMetadata each, ours vs upstream.

Both servers run with `--ws-auth capability-token` and the same token file; upstream is also measured
without auth, the configuration the issue's anchor (2.1 s, p99 171 ms, 203 MB) was taken in. Every
connection opens, initializes, then sends its 20 requests one after the other (each waits for its answer),
all 500 at once; total time runs from the first connect to the last answer. Peak RSS is the server's VmHWM
at the end. The load generator is one asyncio process using websockets without compression, the same for
every server, and runs interleaved rounds so machine noise hits all alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench._servers import command, environment, ratio
from codex_app_harness.websocket_server import WebSocketServer

CONNECTIONS = 500
REQUESTS = 20
ROUNDS = 3
CONNECT_TIMEOUT = 120.0
INIT = json.dumps({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "bench", "version": "1"}}})
CONFIGURATIONS = (("python", True), ("codex", True), ("codex", False))


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def answer(ws: ClientConnection, request_id: int) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message.get("id") == request_id and "method" not in message:
            return message


async def one_client(url: str, token: str | None, load: Load) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        async with connect(
            url, additional_headers=headers, compression=None, open_timeout=CONNECT_TIMEOUT, ping_interval=None
        ) as ws:
            await ws.send(INIT)
            reply = await answer(ws, 0)
            if "result" not in reply:
                load.errors.append(f"initialize failed: {json.dumps(reply.get('error'))}")
                return
            for request_id in range(1, REQUESTS + 1):
                started = time.perf_counter()
                await ws.send(json.dumps({"id": request_id, "method": "fs/getMetadata", "params": {"path": "/"}}))
                reply = await answer(ws, request_id)
                load.latencies.append(time.perf_counter() - started)
                if "result" not in reply:
                    load.errors.append(json.dumps(reply.get("error")))
    except Exception as exc:  # a benchmark counts failures instead of stopping at the first
        load.errors.append(f"{type(exc).__name__}: {exc}")


async def drive(url: str, token: str | None) -> tuple[float, Load]:
    load = Load()
    started = time.perf_counter()
    await asyncio.gather(*(one_client(url, token, load) for _ in range(CONNECTIONS)))
    return time.perf_counter() - started, load


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far: unlike wall time, barely moved by other load on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(kind: str, authenticated: bool) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-ws-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    token = secrets.token_hex(32)
    args = ["--listen", "ws://127.0.0.1:0"]
    if authenticated:
        token_file = home / "token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        args += ["--ws-auth", "capability-token", "--ws-token-file", str(token_file)]
    (home / "codex").mkdir()
    server = WebSocketServer.start([*command(kind), *args], env=environment(home / "codex"), cwd=home)
    try:
        cpu_before = cpu_seconds(server.process.pid)
        seconds, load = asyncio.run(drive(server.url, token if authenticated else None))
        cpu = cpu_seconds(server.process.pid) - cpu_before
        rss = peak_rss_mb(server.process.pid)
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    latencies = sorted(load.latencies)
    return {
        "total_s": round(seconds, 3),
        "p50_ms": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99) - 1], 2) if latencies else None,
        "peak_rss_mb": round(rss, 1),
        "server_cpu_s": round(cpu, 2),
        "answered": len(latencies),
        "errors": len(load.errors),
        "first_errors": sorted(set(load.errors))[:3],
    }


def label(kind: str, authenticated: bool) -> str:
    return f"{kind}{'' if authenticated else '_no_auth'}"


def run() -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {label(*c): [] for c in CONFIGURATIONS}
    for _ in range(ROUNDS):
        for kind, authenticated in CONFIGURATIONS:
            runs[label(kind, authenticated)].append(measure(kind, authenticated))
    figures: dict[str, Any] = {
        "connections": CONNECTIONS,
        "requests_per_connection": REQUESTS,
        "rounds": ROUNDS,
    }
    for name, samples in runs.items():
        figures[name] = {
            "total_s_median": statistics.median(s["total_s"] for s in samples),
            "p99_ms_median": statistics.median(s["p99_ms"] or float("nan") for s in samples),
            "p50_ms_median": statistics.median(s["p50_ms"] or float("nan") for s in samples),
            "peak_rss_mb_max": max(s["peak_rss_mb"] for s in samples),
            "server_cpu_s_median": statistics.median(s["server_cpu_s"] for s in samples),
            "answered_median": statistics.median(s["answered"] for s in samples),
            "errors": sum(s["errors"] for s in samples),
            "runs": samples,
        }
    ours, theirs = figures["python"], figures["codex"]
    figures["ratios_ours_over_upstream"] = {
        "total_time": ratio(ours["total_s_median"], theirs["total_s_median"]),
        "p99": ratio(ours["p99_ms_median"], theirs["p99_ms_median"]),
        "peak_rss": ratio(ours["peak_rss_mb_max"], theirs["peak_rss_mb_max"]),
        "server_cpu": ratio(ours["server_cpu_s_median"], theirs["server_cpu_s_median"]),
        # Upstream answers part of the load with -32001 or drops connections at initialize (see errors), so
        # also compare the time per request actually answered.
        "seconds_per_answered_request": ratio(
            ours["total_s_median"] / max(ours["answered_median"], 1),
            theirs["total_s_median"] / max(theirs["answered_median"], 1),
        ),
    }
    return figures
