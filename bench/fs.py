"""fs/* figures, ours against upstream in one run (issue 5 goals: reads and metadata <= 1.0x upstream, issue 22:
20 MiB reads <= 1.0x and 20 MiB writes <= 1.5x, spawn -> the first fs/getMetadata answer <= 1.0x, watch
latency median under 100 ms where upstream debounces ~200 ms, memory after 1000 watches reported).

Both servers are driven through the test harness client (codex_app_harness.sync.Client), so its per-request overhead
is the same on both sides and cancels out of the ratios. Servers are measured alternately, so load drift on
the machine hits both alike.
"""

from __future__ import annotations

import base64
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._servers import command
from bench.search import paired_row
from bench.startup import start_to_first_answer_ms
from codex_app_harness.sync import Client
from codex_app_harness.transports import default_env

KINDS = ("python", "codex")
READ_SIZE = 1024 * 1024
READ_SAMPLES = 50
LARGE_SIZE = 20 * 1024 * 1024
LARGE_SAMPLES = 5
GOALS = {"readFile_1MiB_ms": 1.0, "readFile_20MiB_ms": 1.0, "writeFile_20MiB_ms": 1.5}
"""Issue 22's goals, ours / upstream, each at or under. writeFile is allowed 1.5x: ours fsyncs the data and
the directory (upstream's std::fs::write does neither), and that is the honest cost of a durable write."""
METADATA_REQUESTS = 1000
METADATA_ROUNDS = 5
LATENCY_SAMPLES = 20
LATENCY_SPACING_SECONDS = 0.3
"""Between two writes: longer than either server's coalescing window, so every sample is a fresh change."""
WATCHES = 1000
FIRST_ANSWER_STARTS = 7
"""Fresh processes per server for the first request after initialize (spawn -> its response)."""
SCRATCH_ROOT = "/var/tmp" if os.path.isdir("/var/tmp") else None


class Server:
    """One server process with its own CODEX_HOME and scratch directory."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.scratch = Path(tempfile.mkdtemp(prefix=f"bench-fs-{kind}-", dir=SCRATCH_ROOT))
        home = self.scratch / "home" / "codex"
        home.mkdir(parents=True)
        self.client = Client.spawn(command(kind), env=default_env(home), codex_home=home)
        self.client.initialize(name="bench")
        self.client.request("fs/getMetadata", {"path": "/"})  # ours loads its handlers on first use

    @property
    def pid(self) -> int:
        assert self.client.process is not None
        return self.client.process.pid

    def status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        self.client.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def summary(samples: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "n": len(samples),
    }


class ReadFile:
    def __init__(self, server: Server) -> None:
        target = server.scratch / "one-mebibyte.bin"
        target.write_bytes(os.urandom(READ_SIZE))
        self.client, self.params = server.client, {"path": str(target)}
        self.client.request("fs/readFile", self.params)

    def sample(self) -> float:
        started = time.perf_counter()
        self.client.request("fs/readFile", self.params)
        return (time.perf_counter() - started) * 1000


class LargeReadFile:
    def __init__(self, server: Server) -> None:
        target = server.scratch / "twenty-mebibytes.bin"
        target.write_bytes(os.urandom(LARGE_SIZE))
        self.client, self.params = server.client, {"path": str(target)}

    def sample(self) -> float:
        started = time.perf_counter()
        self.client.request("fs/readFile", self.params)
        return (time.perf_counter() - started) * 1000


class LargeWriteFile:
    """Atomic and durable on our side (O_TMPFILE, fsync, rename, directory fsync); in place on upstream's."""

    PAYLOAD = base64.b64encode(os.urandom(LARGE_SIZE)).decode()

    def __init__(self, server: Server) -> None:
        self.client = server.client
        self.params = {"path": str(server.scratch / "written.bin"), "dataBase64": self.PAYLOAD}

    def sample(self) -> float:
        started = time.perf_counter()
        self.client.request("fs/writeFile", self.params)
        return (time.perf_counter() - started) * 1000


class Metadata:
    def __init__(self, server: Server) -> None:
        self.client, self.params = server.client, {"path": str(server.scratch)}

    def sample(self) -> float:
        started = time.perf_counter()
        for _ in range(METADATA_REQUESTS):
            self.client.request("fs/getMetadata", self.params)
        return time.perf_counter() - started


class Latency:
    """Write -> fs/changed received: a modified watched file, or a new file in a watched directory."""

    def __init__(self, server: Server, *, new_files: bool) -> None:
        self.client, self.new_files = server.client, new_files
        self.directory = server.scratch / ("latency-dir" if new_files else "latency-file")
        self.directory.mkdir()
        self.watched = self.directory if new_files else self.directory / "watched.txt"
        if not new_files:
            self.watched.write_bytes(b"0")
        self.watch_id = f"latency-{'dir' if new_files else 'file'}"
        self.client.request("fs/watch", {"path": str(self.watched), "watchId": self.watch_id})
        self.count = 0

    def sample(self) -> float:
        self.client.drain("fs/changed")
        changed = self.directory / f"new-{self.count}" if self.new_files else self.watched
        self.count += 1
        started = time.perf_counter()
        with changed.open("ab") as handle:
            handle.write(b"x")
        self.client.wait_for("fs/changed", watchId=self.watch_id, where=lambda p: str(changed) in p["changedPaths"])
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.client.request("fs/unwatch", {"watchId": self.watch_id})


def alternate(probes: dict[str, Any], rounds: int, *, pause: float = 0.0) -> dict[str, list[float]]:
    """One sample of each server per round, so load drift on the machine hits both alike."""
    samples: dict[str, list[float]] = {kind: [] for kind in probes}
    for _ in range(rounds):
        for kind, probe in probes.items():
            samples[kind].append(probe.sample())
            time.sleep(pause)
    return samples


def thousand_watches(server: Server) -> dict[str, float]:
    """1000 watches, each on its own directory (the costly case for us: nothing is shared)."""
    root = server.scratch / "many"
    for index in range(WATCHES):
        (root / f"d{index:04}").mkdir(parents=True)
    rss_before, threads_before = server.status("VmRSS"), server.status("Threads")
    started = time.perf_counter()
    for index in range(WATCHES):
        server.client.request("fs/watch", {"path": str(root / f"d{index:04}"), "watchId": f"many-{index}"})
    elapsed = time.perf_counter() - started
    time.sleep(0.5)
    rss_after, threads_after = server.status("VmRSS"), server.status("Threads")
    return {
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_after_mb": round(rss_after / 1024, 1),
        "rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
        "threads_before": threads_before,
        "threads_after": threads_after,
        "seconds_to_watch": round(elapsed, 3),
    }


def first_answer() -> dict[str, Any]:
    """Spawn -> initialize -> the response to fs/getMetadata, fresh processes interleaved (goal <= 1.0x)."""
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(FIRST_ANSWER_STARTS):
        for kind in KINDS:
            samples[kind].append(start_to_first_answer_ms(kind, "fs/getMetadata", {"path": "/"}))
    return paired_row(samples["python"], samples["codex"], 1.0)


def run() -> dict[str, Any]:
    first = first_answer()
    servers = {kind: Server(kind) for kind in KINDS}
    try:
        reads = alternate({kind: ReadFile(server) for kind, server in servers.items()}, READ_SAMPLES)
        large_reads = alternate({kind: LargeReadFile(server) for kind, server in servers.items()}, LARGE_SAMPLES)
        large_writes = alternate({kind: LargeWriteFile(server) for kind, server in servers.items()}, LARGE_SAMPLES)
        metadata = alternate({kind: Metadata(server) for kind, server in servers.items()}, METADATA_ROUNDS)
        latencies = {}
        for new_files in (False, True):
            probes = {kind: Latency(server, new_files=new_files) for kind, server in servers.items()}
            time.sleep(LATENCY_SPACING_SECONDS)
            latencies[new_files] = alternate(probes, LATENCY_SAMPLES, pause=LATENCY_SPACING_SECONDS)
            for probe in probes.values():
                probe.close()
        watches = {kind: thousand_watches(server) for kind, server in servers.items()}
    finally:
        for server in servers.values():
            server.close()

    figures: dict[str, Any] = {
        "readFile_1MiB_ms": {kind: summary(reads[kind]) for kind in KINDS},
        "readFile_20MiB_ms": {kind: summary(large_reads[kind]) for kind in KINDS},
        "writeFile_20MiB_ms": {kind: summary(large_writes[kind]) for kind in KINDS},
        "getMetadata_1000_sequential_s": {kind: summary(metadata[kind]) for kind in KINDS},
        "watch_latency_modified_file_ms": {kind: summary(latencies[False][kind], 1) for kind in KINDS},
        "watch_latency_new_file_in_dir_ms": {kind: summary(latencies[True][kind], 1) for kind in KINDS},
        "after_1000_watches": watches,
    }
    ratios = {
        name: round(figures[name]["python"]["median"] / figures[name]["codex"]["median"], 3)
        for name in (
            "readFile_1MiB_ms",
            "readFile_20MiB_ms",
            "writeFile_20MiB_ms",
            "getMetadata_1000_sequential_s",
            "watch_latency_modified_file_ms",
            "watch_latency_new_file_in_dir_ms",
        )
    }
    upstream_growth = watches["codex"]["rss_growth_mb"]
    ratios["rss_growth_1000_watches"] = (
        round(watches["python"]["rss_growth_mb"] / upstream_growth, 3) if upstream_growth > 0 else None
    )
    figures["ratios_ours_over_upstream"] = ratios
    figures["goals"] = {
        name: f"{ratios[name]} <= {goal}x: {'met' if ratios[name] <= goal else 'NOT met'}"
        for name, goal in GOALS.items()
    }
    figures["issue_22_table"] = {
        "first request after initialize, fresh process (spawn -> fs/getMetadata answered)": first,
        **{
            f"{name} (warm server)": {
                "python": figures[name]["python"]["median"],
                "codex": figures[name]["codex"]["median"],
                "ratio": ratios[name],
                "goal": figures["goals"][name],
            }
            for name in GOALS
        },
    }
    return figures
