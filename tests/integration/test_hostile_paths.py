"""File names that are not UTF-8 reach the wire lossy (U+FFFD), as upstream 0.163 sends them.

Upstream converts paths with Rust's `to_string_lossy`; a client sees `bad\ufffd` for a file whose name is the
bytes `bad\\xff`, and the connection goes on. Measured on the upstream binary with these same tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from codex_app_harness import Client

BAD_NAME = b"bad\xff"
LOSSY_NAME = "bad\ufffd"


def make_bad_file(directory: Path) -> None:
    with open(os.path.join(os.fsencode(directory), BAD_NAME), "wb") as handle:
        handle.write(b"x")


def test_read_directory_names_a_non_utf8_file_lossily_and_keeps_answering(app_server: Client, tmp_path: Path) -> None:
    make_bad_file(tmp_path)
    (tmp_path / "good").write_text("y")
    entries = app_server.request("fs/readDirectory", {"path": str(tmp_path)})["entries"]
    assert sorted(entry["fileName"] for entry in entries) == sorted([LOSSY_NAME, "good"])
    assert app_server.request("fs/getMetadata", {"path": str(tmp_path / "good")})["isFile"] is True


def test_fuzzy_search_over_a_non_utf8_file_name_keeps_answering(app_server: Client, tmp_path: Path) -> None:
    """Upstream leaves the file out of the results; ours (server/search) still lists it lossy. Either way
    nothing surrogate-escaped reaches the wire and the next request is answered."""
    make_bad_file(tmp_path)
    (tmp_path / "badge.txt").write_text("y")
    files = app_server.request("fuzzyFileSearch", {"query": "bad", "roots": [str(tmp_path)]})["files"]
    paths = [item["path"] for item in files]
    assert "badge.txt" in paths
    assert all("\udcff" not in path for path in paths)
    assert set(paths) - {"badge.txt"} <= {LOSSY_NAME}
    assert app_server.request("fs/getMetadata", {"path": str(tmp_path / "badge.txt")})["isFile"] is True
