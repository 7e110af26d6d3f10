"""Harness overhead per notification: 10k notifications from the scripted fake server, taken one by one.

The same burst is consumed three ways in one run: by a bare reader (asyncio readline + json.loads, the
floor any client pays), by the async core (buffer + wait_for by field), and through the blocking facade
(one cross-thread call per wait). The fake server is another process, so `process_time` of this process
is the client's own CPU; the overhead is the harness's CPU minus the bare reader's, per notification.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from codex_app_harness import sync
from codex_app_harness.chaos import Chaos
from codex_app_harness.client import AsyncClient
from codex_app_harness.sync import Client

NOTIFICATIONS = 10_000
REVERSE = 1_000
"""Notifications taken newest-first: every wait scans the whole buffer, the harness's worst case."""
ROUNDS = 3
FAKE_SERVER = Path(__file__).resolve().parent.parent / "tests" / "harness" / "fake_server.py"
PARAMS = {"threadId": "thr_1", "item": {"id": "item_1", "type": "agentMessage", "text": "x" * 64}}


def fake_command(directory: Path, count: int) -> list[str]:
    script = directory / f"burst-{count}.jsonl"
    steps = [{"expect": "bench/go"}, {"reply": "bench/go", "result": {}}]
    steps.append({"burst": count, "method": "item/agentMessage/delta", "params": PARAMS})
    script.write_text("".join(json.dumps(step) + "\n" for step in steps))
    return [sys.executable, str(FAKE_SERVER), str(script)]


def measure(body: Callable[[], None]) -> tuple[float, float]:
    """(cpu seconds of this process, wall seconds) spent in `body`."""
    cpu, wall = time.process_time(), time.perf_counter()
    body()
    return time.process_time() - cpu, time.perf_counter() - wall


async def bare_reader(command: list[str], count: int) -> tuple[float, float]:
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdin is not None
    assert process.stdout is not None
    cpu, wall = time.process_time(), time.perf_counter()
    process.stdin.write(b'{"id": 1, "method": "bench/go"}\n')
    await process.stdin.drain()
    received = [json.loads(await process.stdout.readline()) for _ in range(count + 1)]
    elapsed = time.process_time() - cpu, time.perf_counter() - wall
    assert received[-1]["params"]["n"] == count - 1
    process.stdin.close()
    await process.wait()
    return elapsed


async def async_core(command: list[str], count: int, chaos: Chaos | None = None) -> tuple[float, float]:
    async with await AsyncClient.spawn(command, chaos=chaos) as client:
        cpu, wall = time.process_time(), time.perf_counter()
        await client.request("bench/go")
        for n in range(count):
            await client.wait_for("item/agentMessage/delta", n=n, threadId="thr_1")
        return time.process_time() - cpu, time.perf_counter() - wall


async def newest_first(command: list[str], count: int) -> tuple[float, float]:
    async with await AsyncClient.spawn(command) as client:
        await client.request("bench/go")
        await client.wait_for("item/agentMessage/delta", n=count - 1)  # everything is buffered now
        cpu, wall = time.process_time(), time.perf_counter()
        for n in reversed(range(count - 1)):
            await client.wait_for("item/agentMessage/delta", n=n)
        return time.process_time() - cpu, time.perf_counter() - wall


def sync_facade(command: list[str], count: int) -> tuple[float, float]:
    with Client.spawn(command) as client:

        def consume() -> None:
            client.request("bench/go")
            for n in range(count):
                client.wait_for("item/agentMessage/delta", n=n, threadId="thr_1")

        return measure(consume)


def on_loop(coro: Coroutine[Any, Any, tuple[float, float]]) -> tuple[float, float]:
    """Async variants run on the facade's loop too, so every variant pays the same loop setup."""
    return sync.run(coro, timeout=300)


def per_notification_us(samples: list[tuple[float, float]], count: int) -> dict[str, float]:
    return {
        "cpu_us": round(statistics.median(cpu for cpu, _ in samples) / count * 1e6, 2),
        "wall_us": round(statistics.median(wall for _, wall in samples) / count * 1e6, 2),
    }


def run() -> dict[str, Any]:
    samples: dict[str, list[tuple[float, float]]] = {
        name: [] for name in ("bare_reader", "async_core", "async_core_chaos", "sync_facade", "newest_first")
    }
    with tempfile.TemporaryDirectory(prefix="bench-harness-") as tmp:
        burst, small = fake_command(Path(tmp), NOTIFICATIONS), fake_command(Path(tmp), REVERSE)
        for round_index in range(ROUNDS):  # interleaved, so load drift hits every variant alike
            samples["bare_reader"].append(on_loop(bare_reader(burst, NOTIFICATIONS)))
            samples["async_core"].append(on_loop(async_core(burst, NOTIFICATIONS)))
            chaos = Chaos(round_index, max_delay=0.001)
            samples["async_core_chaos"].append(on_loop(async_core(burst, NOTIFICATIONS, chaos)))
            samples["sync_facade"].append(sync_facade(burst, NOTIFICATIONS))
            samples["newest_first"].append(on_loop(newest_first(small, REVERSE)))
    figures: dict[str, Any] = {
        "notifications": NOTIFICATIONS,
        "per_notification": {
            name: per_notification_us(values, REVERSE if name == "newest_first" else NOTIFICATIONS)
            for name, values in samples.items()
        },
    }
    per = figures["per_notification"]
    figures["overhead_us_per_notification"] = {
        variant: round(per[variant]["cpu_us"] - per["bare_reader"]["cpu_us"], 2)
        for variant in ("async_core", "async_core_chaos", "sync_facade")
    }
    figures["notes"] = (
        "overhead = harness CPU minus a bare asyncio readline+json.loads reader of the same burst; "
        f"newest_first takes {REVERSE} buffered notifications in reverse order (each wait scans the buffer)"
    )
    return figures
