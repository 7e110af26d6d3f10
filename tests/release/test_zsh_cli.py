"""`python -m release zsh ...` as a user runs it: help for every step, and bad input answered with one line
on stderr and exit status 1, before any long step starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from release import targets

STEPS = ["build", "smoke", "package", "all", "check"]


def release(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "release", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.mark.parametrize("step", STEPS)
def test_every_step_has_help_listing_the_targets(step: str) -> None:
    result = release("zsh", step, "--help")
    assert result.returncode == 0
    assert "--target" in result.stdout
    assert "--work-dir" in result.stdout
    for target in targets.TARGETS:
        assert target.triple in result.stdout


def test_unknown_target_is_a_one_line_error_listing_valid_targets(tmp_path: Path) -> None:
    result = release("zsh", "build", "--target", "riscv64-unknown-linux-musl", "--work-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: unknown target 'riscv64-unknown-linux-musl'")
    assert "x86_64-unknown-linux-musl" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_work_dir_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = release("zsh", "build", "--work-dir", str(blocker / "work"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: work dir {blocker / 'work'} is not writable")


def test_smoke_without_a_build_says_how_to_build(tmp_path: Path) -> None:
    result = release("zsh", "smoke", "--work-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "run `python -m release zsh build --target" in result.stderr


def test_zero_jobs_is_rejected(tmp_path: Path) -> None:
    result = release("zsh", "build", "--jobs", "0", "--work-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == "error: --jobs must be at least 1, got 0\n"


def test_bump_has_help() -> None:
    result = release("zsh", "bump", "--help")
    assert result.returncode == 0
    assert "--sha256" in result.stdout


def test_bump_rejects_a_malformed_hash() -> None:
    result = release("zsh", "bump", "zsh", "5.9.1", "--sha256", "not-a-hash")
    assert result.returncode == 1
    assert result.stderr == "error: --sha256 must be 64 lowercase hex digits, got 'not-a-hash'\n"
