"""`--in-container IMAGE`: the Linux build inside a container through the docker SDK.

The build needs a running container engine, so it is marked `container`, deselected by default and selected
only by its own session (`nox -s zsh-container`); there a missing engine or SDK is a failure that says why. What gets
shipped into the container is checked everywhere.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from release.errors import ReleaseError
from release.zsh import build, smoke

IMAGE = os.environ.get("ZSH_CONTAINER_IMAGE", "python:3.11-slim-bookworm")


def test_checkout_archive_ships_the_sources_without_build_outputs() -> None:
    from release.toolchains import container

    with tarfile.open(fileobj=io.BytesIO(container.checkout_archive(build.default_root()))) as tar:
        names = set(tar.getnames())
    assert {"src/pyproject.toml", "src/release/zsh/exec-wrapper.patch", "src/release/zsh/source.json"} <= names
    assert not any(name.split("/")[1] in {".work", ".cache", "dist", ".git"} for name in names)


@pytest.mark.container
def test_container_build_packages_a_static_zsh(tmp_path: Path) -> None:
    from release.toolchains import container

    reason = None
    try:
        container.engine()
    except ReleaseError as exc:
        reason = str(exc)
    if reason:
        pytest.fail(reason, pytrace=False)
    dist = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "release", "zsh", "all", "--in-container", str(IMAGE), "--dist-dir", str(dist)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (tarball,) = dist.glob("codex-zsh-*.tar.gz")
    with tarfile.open(tarball) as tar:
        tar.extract("codex-zsh/bin/zsh", tmp_path, filter="data")
    assert smoke.is_static_elf(tmp_path / "codex-zsh" / "bin" / "zsh")
