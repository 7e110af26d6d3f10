"""Packaging: the tarball's bytes depend only on the binary and SOURCE_DATE_EPOCH, never on the machine,
the staging filesystem or the time of day."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
from pathlib import Path

import pytest

from release.zsh import build, package
from release.zsh.fetch import sha256_file
from release.zsh.shared import HostBuild


def test_two_packages_of_the_same_build_are_byte_identical(host_zsh: HostBuild, tmp_path: Path) -> None:
    dirs = build.TargetDirs(host_zsh.zsh.parent.parent)
    first = package.package(host_zsh.target, dirs, host_zsh.record, tmp_path / "one", 1652533200, None)
    second = package.package(host_zsh.target, dirs, host_zsh.record, tmp_path / "two", 1652533200, None)
    assert first.tarball.read_bytes() == second.tarball.read_bytes()
    assert first.tarball.read_bytes() == host_zsh.tarball.read_bytes()


def stage_copy(binary: Path, root: Path, *, mtime: int, mode: int) -> Path:
    top = package.stage(binary, root)
    for path in [top, *top.rglob("*")]:
        os.utime(path, (mtime, mtime))
    (top / "bin" / "zsh").chmod(mode)
    return top


def test_archive_ignores_staged_mtimes_and_permission_bits(host_zsh: HostBuild, tmp_path: Path) -> None:
    a = stage_copy(host_zsh.zsh, tmp_path / "a", mtime=1, mode=0o700)
    b = stage_copy(host_zsh.zsh, tmp_path / "b", mtime=2_000_000_000, mode=0o775)
    package.deterministic_tar_gz(a, tmp_path / "a.tar.gz", 1652533200)
    package.deterministic_tar_gz(b, tmp_path / "b.tar.gz", 1652533200)
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()


def test_entries_are_sorted_owned_by_root_with_fixed_modes_and_mtime(host_zsh: HostBuild) -> None:
    with tarfile.open(host_zsh.tarball) as tar:
        members = tar.getmembers()
    assert [(m.name, m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members] == [
        ("codex-zsh", 0o755, 0, 0, "", "", 1652533200),
        ("codex-zsh/bin", 0o755, 0, 0, "", "", 1652533200),
        ("codex-zsh/bin/zsh", 0o755, 0, 0, "", "", 1652533200),
    ]


def test_gzip_header_has_no_name_and_no_timestamp(host_zsh: HostBuild) -> None:
    header = host_zsh.tarball.read_bytes()[:10]
    flags, mtime = header[3], int.from_bytes(header[4:8], "little")
    assert flags & 0x08 == 0
    assert mtime == 0
    assert gzip.decompress(host_zsh.tarball.read_bytes())


def test_packaged_binary_is_the_built_one(host_zsh: HostBuild) -> None:
    with tarfile.open(host_zsh.tarball) as tar:
        member = tar.extractfile("codex-zsh/bin/zsh")
        assert member is not None
        assert member.read() == host_zsh.zsh.read_bytes()


def test_sha256_file_and_provenance_describe_the_tarball(host_zsh: HostBuild) -> None:
    digest = sha256_file(host_zsh.tarball)
    sha_line = host_zsh.tarball.with_name(host_zsh.tarball.name + ".sha256").read_text()
    assert sha_line == f"{digest}  {host_zsh.tarball.name}\n"
    facts = json.loads(host_zsh.provenance.read_text())
    assert facts["sha256"] == digest
    assert facts["target"] == host_zsh.target.triple
    assert facts["zsh"]["sha256"] == "9b8d1ecedd5b5e81fbf1918e876752a7dd948e05c1a0dba10ab863842d45acd5"
    assert facts["compiler"].startswith("zig ")
    assert facts["patch"]["sha256"] == host_zsh.record["inputs"]["patch_sha256"]


def test_source_date_epoch_sets_the_entry_mtime(
    host_zsh: HostBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    top = package.stage(host_zsh.zsh, tmp_path / "stage")
    package.deterministic_tar_gz(top, tmp_path / "out.tar.gz", build.source_date_epoch())
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        assert {m.mtime for m in tar.getmembers()} == {1700000000}
