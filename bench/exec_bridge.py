"""What the approval bridge costs per exec: the patched zsh running `/bin/true` N times, bare vs bridged.

Bridged, every exec starts the wrapper (`sh` trampoline, then `python -I -S`), makes one round trip over the
unix socket to a decide function that approves at once, then execs the program. The difference per exec is
the overhead a command pays for per-program approval when nobody has to be asked. BENCH_EXECS sets N.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

from release.zsh.shared import ensure_host_build
from server.threads.exec_bridge import ExecBridge, ExecDecision, ExecRequest

EXECS = int(os.environ.get("BENCH_EXECS", "100"))
ROUNDS = 3


async def approve(request: ExecRequest) -> ExecDecision:
    return ExecDecision(True)


async def run_zsh(zsh: Path, env: dict[str, str]) -> float:
    script = f"repeat {EXECS} /bin/true"
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(str(zsh), "-fc", script, env=env)
    if await process.wait() != 0:
        raise RuntimeError(f"zsh -fc {script!r} exited {process.returncode}")
    return time.perf_counter() - started


async def measure(zsh: Path) -> dict[str, Any]:
    bare, bridged = [], []
    for _ in range(ROUNDS):
        bare.append(await run_zsh(zsh, dict(os.environ)))
        async with ExecBridge(approve) as bridge:
            bridged.append(await run_zsh(zsh, {**os.environ, **bridge.env()}))
    bare_ms = statistics.median(bare) * 1000 / EXECS
    bridged_ms = statistics.median(bridged) * 1000 / EXECS
    return {
        "execs": EXECS,
        "rounds": ROUNDS,
        "bare_ms_per_exec": round(bare_ms, 3),
        "bridged_ms_per_exec": round(bridged_ms, 3),
        "overhead_ms_per_exec": round(bridged_ms - bare_ms, 3),
    }


def run() -> dict[str, Any]:
    return asyncio.run(measure(ensure_host_build().zsh))
