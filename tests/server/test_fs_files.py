"""File operations of the fs domain: atomic writes, round trips and the hazards upstream has."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.fs import files


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=65536), previous=st.binary(max_size=1024))
def test_write_then_read_round_trips_arbitrary_bytes(data: bytes, previous: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        target = os.path.join(directory, "f")
        Path(target).write_bytes(previous)
        files.write_file(target, data)
        assert files.read_file(target) == data
        assert os.listdir(directory) == ["f"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_keeps_the_old_content_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old content")

    def broken(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files.os, failing, broken)
    with pytest.raises(OSError, match="Input/output error"):
        files.write_file(str(target), b"new content that never lands")
    monkeypatch.undo()
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_write_keeps_mode_and_creates_new_files_with_the_umask(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.write_bytes(b"")
    existing.chmod(0o700)
    files.write_file(str(existing), b"x")
    files.write_file(str(tmp_path / "new"), b"x")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == files.NEW_FILE_MODE


def test_write_is_a_rename_so_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    """An open handle keeps the old inode: a reader mid-read finishes with the old bytes, whole."""
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with target.open("rb") as reader:
        files.write_file(str(target), b"new")
        assert reader.read() == b"old"
    assert target.read_bytes() == b"new"


def test_read_refuses_non_regular_files_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", tmp_path):
        with pytest.raises(files.FsRequestError, match="is not a file"):
            files.read_file(str(path))


def test_copy_onto_itself_keeps_the_content(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"precious")
    files.copy(str(tmp_path / "f"), str(tmp_path / "f"), recursive=False)
    assert (tmp_path / "f").read_bytes() == b"precious"


def test_read_directory_omits_broken_symlinks_only(tmp_path: Path) -> None:
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "f").write_bytes(b"")
    assert [entry.file_name for entry in files.read_directory(str(tmp_path))] == ["f"]
