"""Stage the built zsh as `codex-zsh/bin/zsh` and write a byte-reproducible tarball, its .sha256 and
provenance.

Reproducible means the same binary gives the same tarball on any machine at any time: entries sorted, fixed
owners (0/0, no names), fixed modes, every mtime set to SOURCE_DATE_EPOCH, and a gzip header without file
name or timestamp. Nothing from the filesystem the files were staged on leaks into the archive.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_app_tools.atomic import atomic_write, atomic_writer
from release.errors import ReleaseError
from release.targets import Target
from release.zsh import pins
from release.zsh.build import TargetDirs, safe_extract, write_json
from release.zsh.fetch import sha256_file

TOP = "codex-zsh"
DIR_MODE = 0o755
EXEC_MODE = 0o755
FILE_MODE = 0o644
GZIP_LEVEL = 9


@dataclass(frozen=True)
class Artifact:
    tarball: Path
    sha256_file: Path
    provenance: Path
    debug: Path
    sha256: str


def stage(binary: Path, stage_dir: Path) -> Path:
    """Lay out the release tree; returns its top directory."""
    shutil.rmtree(stage_dir, ignore_errors=True)
    top = stage_dir / TOP
    (top / "bin").mkdir(parents=True)
    shutil.copyfile(binary, top / "bin" / "zsh")
    (top / "bin" / "zsh").chmod(EXEC_MODE)
    return top


def deterministic_tar_gz(top: Path, dest: Path, mtime: int) -> None:
    """Archive `top` (and everything below it) so equal trees give equal bytes."""
    paths = sorted([top, *top.rglob("*")], key=lambda p: p.relative_to(top.parent).as_posix())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            info = tarfile.TarInfo(path.relative_to(top.parent).as_posix())
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = DIR_MODE
                tar.addfile(info)
            else:
                info.size = path.stat().st_size
                info.mode = EXEC_MODE if path.stat().st_mode & 0o111 else FILE_MODE
                with path.open("rb") as f:
                    tar.addfile(info, f)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_writer(dest) as out,
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=GZIP_LEVEL) as gz,
    ):
        gz.write(raw.getvalue())


def provenance_path(dist: Path, target: Target) -> Path:
    return dist / f"codex-zsh-{target.triple}.provenance.json"


def unpack(tarball: Path, target: Target, dest: Path) -> tuple[Path, dict[str, Any]]:
    """The binary inside a packaged artifact and the build facts its provenance records, both verified
    against the digests in that provenance; for smoke-testing an artifact built on another machine."""
    provenance = provenance_path(tarball.parent, target)
    try:
        facts: dict[str, Any] = json.loads(provenance.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"cannot read {provenance.name} next to the artifact: {exc}") from None
    if facts.get("sha256") != sha256_file(tarball):
        raise ReleaseError(f"{tarball.name} does not match the sha256 its provenance records")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        safe_extract(tar, tar.getmembers(), dest)
    binary = dest / TOP / "bin" / "zsh"
    if not binary.is_file() or sha256_file(binary) != facts["binary"]["sha256"]:
        raise ReleaseError(f"{tarball.name} does not hold the binary its provenance records")
    return binary, {"static_modules": facts["static_modules"], "zsh_sha256": facts["binary"]["sha256"]}


def package(
    target: Target,
    dirs: TargetDirs,
    record: dict[str, Any],
    dist: Path,
    mtime: int,
    smoke: dict[str, Any] | None,
) -> Artifact:
    top = stage(dirs.zsh, dirs.root / "stage")
    tarball = dist / target.asset_name
    deterministic_tar_gz(top, tarball, mtime)
    digest = sha256_file(tarball)
    sha_file = dist / f"{target.asset_name}.sha256"
    atomic_write(sha_file, f"{digest}  {target.asset_name}\n")
    debug = dist / f"codex-zsh-{target.triple}.debug"
    with dirs.debug.open("rb") as source, atomic_writer(debug) as out:
        shutil.copyfileobj(source, out)
    p = pins.load()
    inputs = record["inputs"]
    provenance = provenance_path(dist, target)
    write_json(
        provenance,
        {
            "artifact": target.asset_name,
            "sha256": digest,
            "target": target.triple,
            "zsh": {"version": p.zsh.version, "file": p.zsh.file, "sha256": p.zsh.sha256},
            "ncurses": inputs["ncurses"] and {"version": p.ncurses.version, **inputs["ncurses"]},
            "patch": {"file": "exec-wrapper.patch", "sha256": inputs["patch_sha256"]},
            "compiler": inputs["compiler"],
            "toolchain": {"name": record.get("toolchain", target.toolchain), "target": target.zig_target},
            # The exact command that produced this artifact from a checkout of the attested commit; the
            # same command on any Linux machine gives the same sha256 (README: rebuilding bit for bit).
            "command": f"./nox -s zsh -- --target {target.triple}",
            "flags": {
                "cflags": inputs["cflags"],
                "ldflags": record["ldflags"],
                "strip": inputs["strip"],
                "zsh_configure": inputs["zsh_configure"],
                "ncurses_configure": inputs["ncurses_configure"] if inputs["ncurses"] else [],
            },
            "static_modules": record["static_modules"],
            "binary": {"sha256": record["zsh_sha256"], "size": record["zsh_size"]},
            "debug": {"file": debug.name, "sha256": record["debug_sha256"]},
            "source_date_epoch": mtime,
            "smoke": smoke["status"] if smoke else "not run",
        },
    )
    return Artifact(tarball, sha_file, provenance, debug, digest)
