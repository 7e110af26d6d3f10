"""Build time and artifact size of the patched zsh, per target, on this machine.

For each static musl target: a cold build (empty zig cache, so zig compiles musl first) and a warm one, each
from a clean work dir, with per-step timings from the pipeline itself. For the host: the same recipe built
with the system gcc against glibc and the system ncurses, dynamically linked, to show what static linking
costs in size. Wall times suffer from other load on a shared machine; `cpu_s` (CPU seconds of all build
processes) does not. Set BENCH_ZSH_TARGETS (comma-separated triples) or BENCH_ZSH_COLD=0 to do less.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from release import targets
from release.targets import Target
from release.toolchains import write_script
from release.zsh import build, package
from release.zsh.progress import Progress

ROOT = build.default_root()
SCRATCH = ROOT / ".cache" / "bench-zsh"
DOWNLOADS = ROOT / ".work" / "downloads"


class SystemGcc:
    """The distribution's own way to build zsh: gcc, glibc and the shared system ncurses."""

    name = "gcc"
    static = False
    builds_ncurses = False
    term_lib = "ncursesw"

    def check(self) -> None:
        if shutil.which("gcc") is None:
            raise RuntimeError("gcc not found")

    def version(self) -> str:
        return subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]

    def configure_args(self) -> list[str]:
        return []

    def configure_answers(self) -> dict[str, str]:
        return {}

    def write_wrappers(self, bin_dir: Path) -> dict[str, str]:
        write_script(bin_dir / "cc", 'exec gcc "$@"')
        return {"CC": str(bin_dir / "cc")}

    def strip_flag(self) -> str:
        return "-s"


def children_cpu_s() -> float:
    """CPU seconds used by finished child processes: unlike wall time, not inflated by other load on a
    shared machine, so it shows the build's own cost."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_build(target: Target, label: str, *, zig_cache: Path | None = None, toolchain: Any = None) -> dict[str, Any]:
    work_root = SCRATCH / label
    shutil.rmtree(work_root, ignore_errors=True)
    cpu_before = children_cpu_s()
    saved = os.environ.get("ZIG_GLOBAL_CACHE_DIR")
    if zig_cache is not None:
        os.environ["ZIG_GLOBAL_CACHE_DIR"] = str(zig_cache)
    try:
        work = build.open_work_dir(work_root, downloads=DOWNLOADS)
        progress = Progress(f"bench {label}")
        record = build.build(target, work, progress, force=True, toolchain=toolchain)
        tarball = work_root / "dist" / f"{label}.tar.gz"
        top = package.stage(work.target(target).zsh, work_root / "stage")
        package.deterministic_tar_gz(top, tarball, build.source_date_epoch())
    finally:
        if saved is None:
            os.environ.pop("ZIG_GLOBAL_CACHE_DIR", None)
        else:
            os.environ["ZIG_GLOBAL_CACHE_DIR"] = saved
    figures = {
        "total_s": round(sum(record["timings"].values()), 1),
        "cpu_s": round(children_cpu_s() - cpu_before, 1),
        "steps_s": {step: round(seconds, 1) for step, seconds in record["timings"].items()},
        "stripped_sha256": record["zsh_sha256"],
        "stripped_bytes": record["zsh_size"],
        "unstripped_bytes": record["debug_size"],
        "tarball_bytes": tarball.stat().st_size,
        "compiler": record["inputs"]["compiler"],
    }
    shutil.rmtree(work_root, ignore_errors=True)
    return figures


def run() -> dict[str, Any]:
    wanted = os.environ.get("BENCH_ZSH_TARGETS")
    chosen = (
        [targets.get(t) for t in wanted.split(",")] if wanted else [t for t in targets.TARGETS if t.toolchain == "zig"]
    )
    cold = os.environ.get("BENCH_ZSH_COLD", "1") != "0"
    SCRATCH.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"jobs": os.cpu_count(), "targets": {}}
    for target in chosen:
        result: dict[str, Any] = {}
        if cold:
            with tempfile.TemporaryDirectory(dir=SCRATCH, prefix="zig-cache-") as empty_cache:
                result["cold"] = one_build(target, f"{target.triple}-cold", zig_cache=Path(empty_cache))
        result["warm"] = one_build(target, f"{target.triple}-warm")
        if cold:
            result["cold_and_warm_identical"] = result["cold"]["stripped_sha256"] == result["warm"]["stripped_sha256"]
        figures["targets"][target.triple] = result
    host = build.host_target()
    if host.system == "Linux" and shutil.which("gcc"):
        dynamic = one_build(host, "glibc-dynamic", toolchain=SystemGcc())
        static = figures["targets"].get(host.triple, {}).get("warm")
        figures["glibc_dynamic"] = dynamic
        if static:
            figures["static_vs_dynamic_size_ratio"] = round(static["stripped_bytes"] / dynamic["stripped_bytes"], 2)
    return figures


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["zsh_build"]))
