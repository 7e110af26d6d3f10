"""Unpacking verified sources: one top directory, nothing written outside the tree, on every Python 3.11
(releases before 3.11.4, such as Debian bookworm's, have no tarfile extraction filters)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from release.errors import ReleaseError
from release.zsh import build


def archive(tmp: Path, entries: list[tuple[str, bytes, str]]) -> Path:
    """A tar of (name, type, linkname) entries; regular files are empty."""
    path = tmp / "source.tar"
    with tarfile.open(path, "w") as tar:
        for name, kind, link in entries:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    return path


@pytest.fixture(params=["with filters", "without filters"])
def python_flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "without filters":
        monkeypatch.delattr(tarfile, "data_filter")


@pytest.mark.usefixtures("python_flavour")
def test_unpacks_into_its_single_top_directory(tmp_path: Path) -> None:
    src = archive(
        tmp_path, [("zsh-5.9/configure", tarfile.REGTYPE, ""), ("zsh-5.9/link", tarfile.SYMTYPE, "configure")]
    )
    top = build.extract(src, tmp_path / "out")
    assert top == tmp_path / "out" / "zsh-5.9"
    assert (top / "configure").is_file()


@pytest.mark.usefixtures("python_flavour")
def test_refuses_a_link_out_of_the_tree(tmp_path: Path) -> None:
    src = archive(tmp_path, [("zsh-5.9/evil", tarfile.SYMTYPE, "../../../etc/passwd")])
    with pytest.raises(ReleaseError):
        build.extract(src, tmp_path / "out")


def test_refuses_more_than_one_top_directory(tmp_path: Path) -> None:
    src = archive(tmp_path, [("a/x", tarfile.REGTYPE, ""), ("b/y", tarfile.REGTYPE, "")])
    with pytest.raises(ReleaseError, match="single directory"):
        build.extract(src, tmp_path / "out")
