"""Source pins: read from source.json, bumped by rewriting it rather than by hand edits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from release.zsh import pins


def test_pins_match_the_issue() -> None:
    p = pins.load()
    assert (p.zsh.file, p.zsh.sha256) == (
        "zsh-5.9.tar.xz",
        "9b8d1ecedd5b5e81fbf1918e876752a7dd948e05c1a0dba10ab863842d45acd5",
    )
    assert (p.ncurses.file, p.ncurses.sha256) == (
        "ncurses-6.4.tar.gz",
        "6931283d9ac87c5073f30b6290c4c75f21632bb4fc3603ac8100812bed248159",
    )
    assert p.zsh.debian_pool == "pool/main/z/zsh/zsh_5.9.orig.tar.xz"
    assert p.ncurses.debian_pool == "pool/main/n/ncurses/ncurses_6.4.orig.tar.gz"


def test_bump_renames_file_urls_and_pool_path() -> None:
    new = pins.bumped(pins.load().zsh, "5.9.1", "ab" * 32)
    assert new.file == "zsh-5.9.1.tar.xz"
    assert new.debian_pool == "pool/main/z/zsh/zsh_5.9.1.orig.tar.xz"
    assert all("5.9.1" in url and url.endswith("zsh-5.9.1.tar.xz") for url in new.upstream)
    assert new.sha256 == "ab" * 32


def test_write_replaces_only_that_source(tmp_path: Path) -> None:
    path = tmp_path / "source.json"
    shutil.copyfile(pins.SOURCE_JSON, path)
    before = json.loads(path.read_text())
    pins.write(pins.bumped(pins.load().ncurses, "6.5", "cd" * 32), path=path)
    after = json.loads(path.read_text())
    assert after["sources"]["zsh"] == before["sources"]["zsh"]
    assert after["source_date_epoch"] == before["source_date_epoch"]
    assert after["sources"]["ncurses"]["file"] == "ncurses-6.5.tar.gz"
    assert after["sources"]["ncurses"]["sha256"] == "cd" * 32
