"""The walk behind fuzzy search: what is kept, what is skipped, and how a finished walk stays current."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.search.walker import Job, Tree


def walked(root: Path) -> set[str]:
    tree = Tree(str(root))
    tree.walk_all()
    return {path for path, _, _ in tree.entries()}


def make(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")


def test_gitignore_is_ignored_outside_a_git_work_tree(tmp_path: Path) -> None:
    make(tmp_path, ".gitignore", "a.log", "b.txt")
    (tmp_path / ".gitignore").write_text("*.log\n")
    assert walked(tmp_path) == {".gitignore", "a.log", "b.txt"}


def test_gitignore_applies_in_a_git_work_tree_with_nested_negation(tmp_path: Path) -> None:
    make(tmp_path, ".git/", "a.log", "b.txt", "build/out.o", "p/a.q", "p/keep.q")
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n")
    (tmp_path / "p" / ".gitignore").write_text("*.q\n!keep.q\n")
    found = walked(tmp_path)
    assert {"b.txt", "p/keep.q", ".git", ".gitignore"} <= found
    assert not {"a.log", "build", "build/out.o", "p/a.q"} & found


def test_a_git_file_marks_a_worktree_and_parent_ignore_files_apply(tmp_path: Path) -> None:
    make(tmp_path, "sub/x.log", "sub/x.txt")
    (tmp_path / ".git").write_text("gitdir: /elsewhere\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    assert walked(tmp_path / "sub") == {"x.txt"}


def test_git_info_exclude_applies(tmp_path: Path) -> None:
    make(tmp_path, ".git/info/", "a.txt", "b.md")
    (tmp_path / ".git" / "info" / "exclude").write_text("*.txt\n")
    assert "a.txt" not in walked(tmp_path)
    assert "b.md" in walked(tmp_path)


def test_dot_ignore_applies_without_git(tmp_path: Path) -> None:
    make(tmp_path, "secret.txt", "plain.txt")
    (tmp_path / ".ignore").write_text("secret*\n")
    assert walked(tmp_path) == {".ignore", "plain.txt"}


def test_hidden_entries_and_dot_git_are_kept(tmp_path: Path) -> None:
    make(tmp_path, ".hidden", ".git/config", "node_modules/m.js")
    assert walked(tmp_path) == {".hidden", ".git", ".git/config", "node_modules", "node_modules/m.js"}


def test_symlinked_directories_are_followed_but_loops_and_broken_links_are_left_out(tmp_path: Path) -> None:
    make(tmp_path, "d/zz.txt")
    os.symlink(tmp_path, tmp_path / "d" / "loop")
    os.symlink(tmp_path / "d", tmp_path / "dlink")
    os.symlink(tmp_path / "d" / "zz.txt", tmp_path / "flink")
    os.symlink(tmp_path / "missing", tmp_path / "broken")
    assert walked(tmp_path) == {"d", "d/zz.txt", "dlink", "dlink/zz.txt", "flink"}


def test_fifos_count_as_files(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    tree = Tree(str(tmp_path))
    tree.walk_all()
    assert list(tree.entries()) == [("pipe", "pipe", False)]


def test_missing_relative_and_file_roots_walk_nothing(tmp_path: Path) -> None:
    make(tmp_path, "f.txt")
    for root in (str(tmp_path / "missing"), "relative/root", str(tmp_path / "f.txt")):
        assert walked(Path(root)) == set()


def test_refresh_sees_created_removed_and_renamed_entries(tmp_path: Path) -> None:
    make(tmp_path, "a/one.txt", "a/two.txt", "b/")
    tree = Tree(str(tmp_path))
    tree.walk_all()
    tree.refresh()  # racy directories may be re-read; nothing changed either way
    (tmp_path / "a" / "two.txt").unlink()
    (tmp_path / "a" / "one.txt").rename(tmp_path / "b" / "uno.txt")
    make(tmp_path, "c/deep/new.txt")
    assert tree.refresh() is True
    assert {path for path, _, _ in tree.entries()} == {"a", "b", "b/uno.txt", "c", "c/deep", "c/deep/new.txt"}


def test_refresh_drops_removed_directories(tmp_path: Path) -> None:
    make(tmp_path, "gone/inner/x.txt", "kept.txt")
    tree = Tree(str(tmp_path))
    tree.walk_all()
    for path in (tmp_path / "gone" / "inner" / "x.txt", tmp_path / "gone" / "inner", tmp_path / "gone"):
        path.unlink() if path.is_file() else path.rmdir()
    assert tree.refresh() is True
    assert {path for path, _, _ in tree.entries()} == {"kept.txt"}


def test_refresh_applies_an_edited_ignore_file(tmp_path: Path) -> None:
    make(tmp_path, "x.log", "x.txt")
    (tmp_path / ".ignore").write_text("nothing\n")
    tree = Tree(str(tmp_path))
    tree.walk_all()
    (tmp_path / ".ignore").write_text("*.log\n")  # same directory mtime may not move: the stamp does
    assert tree.refresh() is True
    assert {path for path, _, _ in tree.entries()} == {".ignore", "x.txt"}


def test_a_quiet_tree_refreshes_without_changes(tmp_path: Path) -> None:
    make(tmp_path, "a/b.txt")
    old = os.stat(tmp_path).st_mtime_ns - 10**9
    for path in (tmp_path / "a", tmp_path):
        os.utime(path, ns=(old, old))
    tree = Tree(str(tmp_path))
    tree.walk_all()
    assert tree.refresh() is False


def test_refresh_follows_a_retargeted_directory_symlink(tmp_path: Path) -> None:
    make(tmp_path, "old/before.txt", "new/after.txt")
    os.symlink(tmp_path / "old", tmp_path / "current")
    tree = Tree(str(tmp_path))
    tree.walk_all()
    assert "current/before.txt" in {path for path, _, _ in tree.entries()}
    os.symlink(tmp_path / "new", tmp_path / "next")
    os.replace(tmp_path / "next", tmp_path / "current")
    assert tree.refresh() is True
    found = {path for path, _, _ in tree.entries()}
    assert "current/after.txt" in found
    assert "current/before.txt" not in found


def test_refresh_rewalks_a_directory_replaced_under_the_same_name(tmp_path: Path) -> None:
    make(tmp_path, "pkg/sub/one.txt", "staging/sub/two.txt")
    tree = Tree(str(tmp_path))
    tree.walk_all()
    os.rename(tmp_path / "pkg" / "sub", tmp_path / "gone_sub")
    os.rename(tmp_path / "staging" / "sub", tmp_path / "pkg" / "sub")
    assert tree.refresh() is True
    found = {path for path, _, _ in tree.entries()}
    assert {"pkg/sub/two.txt", "gone_sub/one.txt"} <= found
    assert "pkg/sub/one.txt" not in found


def test_names_that_are_not_utf8_are_left_out_with_what_is_below_them(tmp_path: Path) -> None:
    make(tmp_path, "good/kept.txt")
    root = os.fsencode(tmp_path)
    os.mkdir(os.path.join(root, b"bad\xffdir"))
    for name in (b"bad\xffdir/inside.txt", b"good/bad\xfe.txt"):
        with open(os.path.join(root, name), "wb"):
            pass
    assert walked(tmp_path) == {"good", "good/kept.txt"}


@pytest.mark.parametrize("stop_after", [0, 1, 3, 7, 1000])
def test_a_walk_stopped_midway_leaves_exactly_what_it_did_not_walk(tmp_path: Path, stop_after: int) -> None:
    """The helper's walk ahead stops when its walk adopts it: the directories it walked, plus walks of the
    subtrees it left, are the whole walk, each directory once, ignore rules included."""
    make(
        tmp_path,
        ".git/",
        "top.txt",
        "a.log",
        *(f"d{i}/s{j}/f{k}.txt" for i in range(3) for j in range(2) for k in range(2)),
    )
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "d1" / ".gitignore").write_text("s0/\n")
    whole = Tree(str(tmp_path))
    whole.walk_all()
    steps = iter(range(stop_after + 1))
    rest: list[Job] = []
    ahead = Tree(str(tmp_path))
    first = list(ahead.walk_until(lambda: next(steps) == stop_after, rest))
    assert len(first) == min(stop_after, len(whole.nodes))
    assert (rest == []) is (stop_after >= len(whole.nodes))
    after = [node for job in rest for node in Tree(str(tmp_path)).walk_below(job)]
    rels = [node.rel for node in first + after]
    assert len(rels) == len(set(rels))
    assert sorted(rels) == sorted(whole.nodes)
    assert {node.rel: (node.files, node.dirs) for node in first + after} == {
        rel: (node.files, node.dirs) for rel, node in whole.nodes.items()
    }
