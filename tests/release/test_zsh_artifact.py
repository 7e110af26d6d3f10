"""A packaged artifact is self-describing: its provenance names the sources, patch, zig and the exact
command, and `zsh smoke --artifact` (what the macos-15 runner runs) takes the binary and module list out of
the tarball and provenance only after both verify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from release.__main__ import main
from release.errors import ReleaseError
from release.zsh import build, package, pins
from release.zsh.shared import HostBuild


@pytest.fixture
def packaged(host_zsh: HostBuild, tmp_path: Path) -> package.Artifact:
    dirs = build.TargetDirs(host_zsh.zsh.parent.parent)
    return package.package(host_zsh.target, dirs, host_zsh.record, tmp_path / "dist", 1652000000, None)


def test_provenance_names_sources_patch_zig_and_the_exact_command(
    packaged: package.Artifact, host_zsh: HostBuild
) -> None:
    facts = json.loads(packaged.provenance.read_text())
    p = pins.load()
    assert facts["zsh"]["sha256"] == p.zsh.sha256
    assert facts["ncurses"]["sha256"] == p.ncurses.sha256
    assert facts["patch"]["sha256"] == pins.patch_sha256()
    assert facts["compiler"].startswith("zig ")
    assert facts["toolchain"] == {"name": "zig", "target": host_zsh.target.zig_target}
    assert facts["command"] == f"./nox -s zsh -- --target {host_zsh.target.triple}"
    assert facts["sha256"] == packaged.sha256


def test_unpack_returns_the_recorded_binary_and_modules(
    packaged: package.Artifact, host_zsh: HostBuild, tmp_path: Path
) -> None:
    binary, record = package.unpack(packaged.tarball, host_zsh.target, tmp_path / "out")
    assert binary.read_bytes() == host_zsh.zsh.read_bytes()
    assert record["static_modules"] == host_zsh.record["static_modules"]


def test_unpack_refuses_a_tarball_its_provenance_does_not_describe(
    packaged: package.Artifact, host_zsh: HostBuild, tmp_path: Path
) -> None:
    data = bytearray(packaged.tarball.read_bytes())
    data[-20] ^= 0xFF
    packaged.tarball.write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match="does not match the sha256 its provenance records"):
        package.unpack(packaged.tarball, host_zsh.target, tmp_path / "out")
    packaged.provenance.unlink()
    with pytest.raises(ReleaseError, match=r"cannot read codex-zsh-.*provenance\.json next to the artifact"):
        package.unpack(packaged.tarball, host_zsh.target, tmp_path / "out")


def test_smoke_of_a_packaged_artifact_passes_on_the_host(
    packaged: package.Artifact, host_zsh: HostBuild, tmp_path: Path
) -> None:
    dist = tmp_path / "downloaded"
    dist.mkdir()
    for path in (packaged.tarball, packaged.provenance):
        shutil.copy2(path, dist / path.name)
    argv = ["zsh", "smoke", "--target", host_zsh.target.triple, "--work-dir", str(tmp_path / "work")]
    assert main([*argv, "--artifact", str(dist / packaged.tarball.name)]) == 0
    report = json.loads((tmp_path / "work" / host_zsh.target.triple / "out" / "smoke.json").read_text())
    assert report["status"] == "passed"
