"""End to end on loopback: the host's packaged zsh, served over HTTP, fetched and run by the real dotslash.

This is what a user of a release does (minus GitHub): run the DotSlash file, get the patched zsh. The
package is the shared host build (`host_zsh`, built at most once per run), the DotSlash file uses a `url`
provider pointing at a loopback server, and each run gets its own DOTSLASH_CACHE so nothing is reused
between tests or from the developer's machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from release import dotslash, targets
from release.zsh.shared import HostBuild
from tests.release.dotslash_helpers import run_dotslash, serve_directory


@pytest.fixture
def dist(tmp_path: Path, host_zsh: HostBuild) -> Path:
    """A private copy of the package to serve, so a test may corrupt it."""
    directory = tmp_path / "dist"
    directory.mkdir()
    shutil.copy2(host_zsh.tarball, directory / host_zsh.target.asset_name)
    return directory


def dotslash_file(dist: Path, url: str, out: Path) -> Path:
    text, _ = dotslash.generate(dotslash.DEFAULT_CONFIG, dist, dotslash.Providers(url_base=url), available_only=True)
    dotslash.write_checked(out, text)
    return out


def test_dotslash_fetches_the_package_and_runs_zsh(dist: Path, tmp_path: Path) -> None:
    with serve_directory(dist) as url:
        file = dotslash_file(dist, url, tmp_path / "codex-zsh")
        result = run_dotslash(file, "-fc", "print -r -- $ZSH_VERSION", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "5.9\n"


def test_exec_wrapper_works_through_dotslash(dist: Path, tmp_path: Path) -> None:
    log = tmp_path / "wrapper.log"
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\npath=$1\nshift 2\nexec "$path" "$@"\n')
    wrapper.chmod(0o755)
    with serve_directory(dist) as url:
        file = dotslash_file(dist, url, tmp_path / "codex-zsh")
        result = run_dotslash(
            file, "-fc", "/bin/echo e2e-zsh", cache=tmp_path / "cache", env={"EXEC_WRAPPER": str(wrapper)}
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "e2e-zsh\n"
    assert log.read_text().splitlines() == ["/bin/echo", "/bin/echo", "e2e-zsh"]


def test_dotslash_refuses_a_corrupted_package(dist: Path, tmp_path: Path) -> None:
    served = dist / targets.host().asset_name
    with serve_directory(dist) as url:
        file = dotslash_file(dist, url, tmp_path / "codex-zsh")
        data = bytearray(served.read_bytes())
        data[len(data) // 2] ^= 0xFF  # same size, so it is the digest check that must catch it
        served.write_bytes(bytes(data))
        result = run_dotslash(file, "-fc", "print ran", cache=tmp_path / "cache")
    assert result.returncode != 0
    assert "ran" not in result.stdout
    assert "incorrect digest" in result.stderr
