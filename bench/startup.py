"""Foundation figures: process start -> initialize response, process start -> the first answer after initialize
(what an editor waits for; issue 22's goal: at or under upstream), RSS after initialize, 1000 sequential requests."""

from __future__ import annotations

import time
from typing import Any

from bench._servers import KINDS, StdioServer, ratio, summary

STARTS = 20
SEQUENTIAL = 1000


def start_to_initialize_ms(kind: str) -> tuple[float, int, int]:
    """One fresh process: ms to the initialize response, RSS (kB) then, and RSS after one more request."""
    started = time.perf_counter()
    server = StdioServer(kind)
    try:
        server.initialize()
        elapsed = (time.perf_counter() - started) * 1000
        rss_at_init = server.rss_kb()
        server.request("fs/getMetadata", {"path": "/"})
        return elapsed, rss_at_init, server.rss_kb()
    finally:
        server.close()


FIRST_METHODS = {
    "fs/getMetadata": {"path": "/"},
    "config/read": {},
    "thread/list": {},
}
"""One method per namespace family: each loads only its own handler modules on our side."""


def start_to_first_answer_ms(kind: str, method: str, params: dict[str, Any]) -> float:
    """One fresh process: ms from spawn to the response of the first request after initialize."""
    started = time.perf_counter()
    server = StdioServer(kind)
    try:
        server.initialize()
        server.request(method, params)
        return (time.perf_counter() - started) * 1000
    finally:
        server.close()


def sequential_seconds(kind: str) -> float:
    server = StdioServer(kind)
    try:
        server.initialize()
        server.request("fs/getMetadata", {"path": "/"})  # warm: ours loads its handlers on first use
        started = time.perf_counter()
        for _ in range(SEQUENTIAL):
            server.request("fs/getMetadata", {"path": "/"})
        return time.perf_counter() - started
    finally:
        server.close()


def run() -> dict[str, Any]:
    starts: dict[str, list[float]] = {kind: [] for kind in KINDS}
    rss_init: dict[str, list[float]] = {kind: [] for kind in KINDS}
    rss_ready: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(STARTS):  # interleaved, so load drift hits both alike
        for kind in KINDS:
            ms, at_init, ready = start_to_initialize_ms(kind)
            starts[kind].append(ms)
            rss_init[kind].append(at_init / 1024)
            rss_ready[kind].append(ready / 1024)
    first: dict[str, dict[str, list[float]]] = {name: {kind: [] for kind in KINDS} for name in FIRST_METHODS}
    for _ in range(STARTS // 2):
        for name, params in FIRST_METHODS.items():
            for kind in KINDS:
                first[name][kind].append(start_to_first_answer_ms(kind, name, params))
    sequential: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(3):
        for kind in KINDS:
            sequential[kind].append(sequential_seconds(kind))
    figures: dict[str, Any] = {
        "start_to_initialize_ms": {kind: summary(starts[kind]) for kind in KINDS},
        "rss_after_initialize_mb": {kind: summary(rss_init[kind]) for kind in KINDS},
        "rss_after_first_request_mb": {kind: summary(rss_ready[kind]) for kind in KINDS},
        "sequential_1000_getMetadata_s": {kind: summary(sequential[kind]) for kind in KINDS},
    }
    figures["start_to_first_answer_ms"] = {}
    for name in FIRST_METHODS:
        medians = {kind: summary(first[name][kind]) for kind in KINDS}
        met = ratio(medians["python"]["median"], medians["codex"]["median"])
        goal = "met" if met <= 1.0 else "NOT met"
        figures["start_to_first_answer_ms"][name] = {**medians, "ratio": met, "goal": f"<= 1.0x: {goal}"}
    figures["ratios_ours_over_upstream"] = {
        name: ratio(figures[name]["python"]["median"], figures[name]["codex"]["median"])
        for name in (
            "start_to_initialize_ms",
            "rss_after_initialize_mb",
            "rss_after_first_request_mb",
            "sequential_1000_getMetadata_s",
        )
    }
    return figures
