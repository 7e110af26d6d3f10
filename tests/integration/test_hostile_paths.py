"""File names that are not UTF-8 reach the wire lossy (U+FFFD), as upstream 0.163 sends them.

Upstream converts paths with Rust's `to_string_lossy`; a client sees `bad\ufffd` for a file whose name is the
bytes `bad\\xff`, and the connection goes on. Measured on the upstream binary with these same tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from codex_app_harness import Client, NotificationTimeout

BAD_NAME = b"bad\xff"
LOSSY_NAME = "bad\ufffd"
WRITES = 20
"""How often a watched file is rewritten, a second apart, until the watch reports it."""


def make_bad_file(directory: Path) -> None:
    with open(os.path.join(os.fsencode(directory), BAD_NAME), "wb") as handle:
        handle.write(b"x")


def test_read_directory_names_a_non_utf8_file_lossily_and_keeps_answering(app_server: Client, tmp_path: Path) -> None:
    make_bad_file(tmp_path)
    (tmp_path / "good").write_text("y")
    entries = app_server.request("fs/readDirectory", {"path": str(tmp_path)})["entries"]
    assert sorted(entry["fileName"] for entry in entries) == sorted([LOSSY_NAME, "good"])
    assert app_server.request("fs/getMetadata", {"path": str(tmp_path / "good")})["isFile"] is True


def test_fuzzy_search_leaves_out_what_is_not_utf8_and_keeps_answering(app_server: Client, tmp_path: Path) -> None:
    """Upstream leaves out every entry whose path is not UTF-8, so everything below such a directory too
    (measured on 0.163); nothing surrogate-escaped or lossy reaches the wire, and the next request is
    answered."""
    make_bad_file(tmp_path)
    (tmp_path / "badge.txt").write_text("y")
    bad_directory = os.path.join(os.fsencode(tmp_path), b"bad\xfedir")
    os.mkdir(bad_directory)
    with open(os.path.join(bad_directory, b"bad_inside.txt"), "wb") as handle:
        handle.write(b"z")
    files = app_server.request("fuzzyFileSearch", {"query": "bad", "roots": [str(tmp_path)]})["files"]
    assert [item["path"] for item in files] == ["badge.txt"]
    assert app_server.request("fs/getMetadata", {"path": str(tmp_path / "badge.txt")})["isFile"] is True


def test_a_watch_goes_on_reporting_after_a_non_utf8_name_appears(app_server: Client, tmp_path: Path) -> None:
    """Upstream reports nothing for the name it cannot convert and goes on; ours reports the watched
    directory itself for the gap its recreated watcher could not see (tests/server/test_fs_watch.py), then
    goes on too. Either way nothing surrogate-escaped reaches the wire and later changes arrive."""
    watched = tmp_path / "watched"
    watched.mkdir()
    app_server.request("fs/watch", {"path": str(watched), "watchId": "w"})
    make_bad_file(watched)
    after = watched / "after.txt"
    for _ in range(WRITES):
        after.write_text("y")
        try:
            app_server.wait_for("fs/changed", watchId="w", where=lambda p: str(after) in p["changedPaths"], timeout=1)
            break
        except NotificationTimeout:
            continue
    else:
        raise AssertionError("the watch stopped reporting after the non-UTF-8 name appeared")
    app_server.settle()
    paths = [path for note in app_server.drain("fs/changed") for path in note.params["changedPaths"]]
    assert all("\udcff" not in path for path in paths)
