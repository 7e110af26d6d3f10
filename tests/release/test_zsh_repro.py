"""Reproducibility: two clean builds of each target, in different work dirs, give identical tarballs; and the
comparison the release workflow runs between its two build attempts fails on any difference.

The double builds take about 25 minutes for the three targets on 2 cores, too long for the default test
run: they are selected by the `repro` marker in `nox -s zsh-repro`. The comparison tests are cheap and
always run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from release import targets
from release.__main__ import main


def write_tarballs(directory: Path, contents: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True)
    for target in targets.TARGETS:
        (directory / target.asset_name).write_bytes(contents.get(target.triple, b"same bytes"))
    return directory


def test_compare_accepts_two_directories_of_equal_tarballs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = write_tarballs(tmp_path / "a", {}), write_tarballs(tmp_path / "b", {})
    assert main(["zsh", "compare", str(first), str(second)]) == 0
    assert "all 3 targets are bit for bit reproducible" in capsys.readouterr().out


def test_compare_fails_naming_the_target_whose_digest_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_tarballs(tmp_path / "a", {})
    second = write_tarballs(tmp_path / "b", {"aarch64-apple-darwin": b"one byte off"})
    assert main(["zsh", "compare", str(first), str(second)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the two builds differ: aarch64-apple-darwin: ")
    assert err.count("\n") == 1


def test_compare_fails_when_an_attempt_lacks_a_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = write_tarballs(tmp_path / "a", {})
    second = write_tarballs(tmp_path / "b", {})
    (second / targets.get("x86_64-unknown-linux-musl").asset_name).unlink()
    assert main(["zsh", "compare", str(first), str(second)]) == 1
    assert "x86_64-unknown-linux-musl: missing" in capsys.readouterr().err


@pytest.mark.repro
@pytest.mark.parametrize("target", targets.TARGETS, ids=lambda t: t.triple)
def test_two_clean_builds_give_the_same_tarball(target: targets.Target, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "release", "zsh", "repro", "--target", target.triple, "--work-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{target.triple} is reproducible" in result.stderr + result.stdout
