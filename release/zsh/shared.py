"""One verified host build shared by every test (and every pytest-xdist worker) that needs a real zsh.

A cold build takes minutes, so it must happen at most once per test run and not at all when nothing changed:
the build lives under the checkout's `.cache/zsh-build` (gitignored), an exclusive file lock makes
concurrent callers wait for the first one, and `build.build` reuses an existing build whose cache key
(source and patch hashes, target, compiler version, recipe) matches and whose files still verify.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.targets import Target
from release.zsh import build, package
from release.zsh.fetch import sha256_file
from release.zsh.progress import Progress


@dataclass(frozen=True)
class HostBuild:
    target: Target
    zsh: Path
    """The stripped static binary, as shipped."""
    debug: Path
    tarball: Path
    provenance: Path
    record: dict[str, Any]


def ensure_host_build(cache_dir: Path | None = None) -> HostBuild:
    """Build (or reuse) and package zsh for this machine's target; safe to call from many processes."""
    root = cache_dir or build.default_root() / ".cache" / "zsh-build"
    root.mkdir(parents=True, exist_ok=True)
    target = build.host_target()
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        work = build.open_work_dir(root / "work", downloads=build.default_root() / ".work" / "downloads")
        progress = Progress(f"zsh {target.triple} shared build")
        record = build.build(target, work, progress)
        dirs = work.target(target)
        dist = root / "dist"
        tarball = dist / target.asset_name
        provenance = dist / f"codex-zsh-{target.triple}.provenance.json"
        if not _packaged(tarball, provenance, record):
            package.package(target, dirs, record, dist, build.source_date_epoch(), None)
        return HostBuild(target, dirs.zsh, dirs.debug, tarball, provenance, record)


def _packaged(tarball: Path, provenance: Path, record: dict[str, Any]) -> bool:
    """True when the tarball on disk is the package of exactly this build."""
    try:
        facts = json.loads(provenance.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        tarball.is_file()
        and facts.get("binary", {}).get("sha256") == record["zsh_sha256"]
        and facts.get("source_date_epoch") == build.source_date_epoch()
        and facts.get("sha256") == sha256_file(tarball)
    )
