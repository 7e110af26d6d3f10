"""Memory toward a client that stops reading while watches churn: server RSS over 20 s, ours and upstream.

The client initializes, watches WATCHES directories, then never reads stdout again, while this process
rewrites every file in them as fast as it can. A server that queues without bound grows for as long as
the churn lasts; ours should plateau near its outgoing soft limit (4 MiB of queued messages, coalesced
per watch past it).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._servers import KINDS, StdioServer

CHURN_SECONDS = 20.0
WATCHES = 20
FILES_PER_WATCH = 200
NAME = "f{:03}-" + "n" * 200
"""Long names make each fs/changed big: a server that keeps them all grows fast."""
SAMPLE_EVERY_SECONDS = 0.5


def measure(kind: str) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-stalled-"))
    server = StdioServer(kind)
    try:
        server.initialize()
        directories = []
        for index in range(WATCHES):
            directory = root / f"d{index:02}"
            directory.mkdir()
            for number in range(FILES_PER_WATCH):
                (directory / NAME.format(number)).write_bytes(b"")
            directories.append(directory)
            server.request("fs/watch", {"path": str(directory), "watchId": f"w{index}"})
        start = server.rss_kb()
        samples = []
        rounds = 0
        began = next_sample = time.monotonic()
        while (now := time.monotonic()) - began < CHURN_SECONDS and server.process.poll() is None:
            for directory in directories:
                for number in range(FILES_PER_WATCH):
                    os.utime(directory / NAME.format(number))
            rounds += 1
            if now >= next_sample:
                samples.append(server.rss_kb())
                next_sample = now + SAMPLE_EVERY_SECONDS
        alive = server.process.poll() is None
        end = server.rss_kb() if alive else None
        mib = 1024
        return {
            "rss_start_mib": round(start / mib, 1),
            "rss_peak_mib": round(max(samples, default=start) / mib, 1),
            "rss_end_mib": None if end is None else round(end / mib, 1),
            "rss_last_half_growth_mib": round((samples[-1] - samples[len(samples) // 2]) / mib, 1) if samples else None,
            "churn_rounds": rounds,
            "server_alive_at_end": alive,
        }
    finally:
        server.process.kill()
        server.process.wait()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(server.home, ignore_errors=True)


def run() -> dict[str, Any]:
    return {kind: measure(kind) for kind in KINDS}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
