"""The static build itself: the module set it carries, that it is static and stripped, and the smoke test
that the release pipeline runs on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from release import targets
from release.zsh import build, smoke
from release.zsh.shared import HostBuild


def test_all_usable_modules_are_linked_in(host_zsh: HostBuild) -> None:
    modules = set(host_zsh.record["static_modules"])
    assert {"zsh/regex", "zsh/zpty", "zsh/system", "zsh/datetime", "zsh/stat", "zsh/zle", "zsh/curses"} <= modules
    assert not {"zsh/pcre", "zsh/db/gdbm"} & modules


def test_binary_is_static_and_the_debug_file_is_separate(host_zsh: HostBuild) -> None:
    assert smoke.is_static_elf(host_zsh.zsh)
    assert host_zsh.debug.stat().st_size > 2 * host_zsh.zsh.stat().st_size


def test_static_check_rejects_a_dynamic_executable() -> None:
    assert not smoke.is_static_elf(Path("/bin/sh").resolve())


def test_build_record_verifies_against_the_files_on_disk(host_zsh: HostBuild) -> None:
    dirs = build.TargetDirs(host_zsh.zsh.parent.parent)
    assert build.load_record(dirs) == host_zsh.record


def test_smoke_test_passes_every_check_on_the_host_build(host_zsh: HostBuild, tmp_path: Path) -> None:
    results = smoke.smoke(
        host_zsh.target,
        host_zsh.zsh,
        tmp_path / "smoke",
        version="5.9",
        modules=host_zsh.record["static_modules"],
        static=True,
    )
    assert [(r.name, r.status) for r in results if r.status != "passed"] == []
    assert len(results) == 8


def test_smoke_reports_not_run_rather_than_passed_when_the_binary_cannot_run(
    host_zsh: HostBuild, tmp_path: Path
) -> None:
    foreign = next(t for t in targets.TARGETS if t.system == "Darwin")
    results = smoke.smoke(foreign, host_zsh.zsh, tmp_path, version="5.9", modules=[], static=False)
    # The structure check runs anywhere (and rightly fails on this ELF file); the rest needs a Mac.
    assert [(r.name, r.status) for r in results[:1]] == [("mach-o structure", "failed")]
    assert {r.status for r in results[1:]} == {"not run"}


def config_h(host_zsh: HostBuild) -> str:
    (tree,) = build.TargetDirs(host_zsh.zsh.parent.parent).src.glob("zsh-*")
    return (tree / "config.h").read_text()


@pytest.mark.parametrize("feature", ["HAVE_FIFOS", "HAVE_LINK", "LONG_IS_64_BIT", "RLIM_T_IS_UNSIGNED"])
def test_configure_finds_what_musl_linux_has(host_zsh: HostBuild, feature: str) -> None:
    assert f"#define {feature} 1" in config_h(host_zsh)


@pytest.mark.parametrize("flaw", ["BROKEN_POSIX_SIGSUSPEND", "BROKEN_KILL_ESRCH", "GETPWNAM_FAKED"])
def test_configure_probes_are_not_defeated_by_strict_c(host_zsh: HostBuild, flaw: str) -> None:
    assert f"#define {flaw} " not in config_h(host_zsh)
