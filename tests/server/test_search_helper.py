"""The walk helper (server.search.helper): a forked child walks subtrees, and the walk is the same walk.

The child must be forked while the process has one thread, which a pytest worker does not: each case runs
`tests.server.walk_helper_run` in a fresh interpreter, as the server forks its helper at start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def tree(root: Path) -> Path:
    """Enough directories for subtrees to be handed out, and every rule a walk applies."""
    (root / ".git").mkdir(parents=True)
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    for package in range(12):
        for module in range(6):
            directory = root / f"pkg{package}" / f"mod{module}"
            directory.mkdir(parents=True)
            for index in range(15):
                (directory / f"file{index}.{'log' if index == 0 else 'rs'}").write_text("")
        (root / f"pkg{package}" / "build").mkdir()
        (root / f"pkg{package}" / "build" / "out.o").write_text("")
    (root / "pkg3" / ".ignore").write_text("mod2/\n!keep\n")
    (root / "pkg5" / "mod1" / "loop").symlink_to(root / "pkg5")
    (root / "pkg5" / "mod1" / "broken").symlink_to(root / "missing")
    (root / "pkg6" / "linked").symlink_to(root / "pkg7" / "mod3")
    os.mkfifo(root / "pkg8" / "pipe")
    return root


def run(root: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.server.walk_helper_run", str(root), mode],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("mode", ["plain", "killed", "stalled"])
def test_a_walk_with_the_helper_keeps_what_a_walk_alone_keeps(tmp_path: Path, mode: str) -> None:
    """However the child ends (it finishes, is killed, or stops answering), nothing is lost or doubled."""
    result = run(tree(tmp_path), mode)
    assert result["taken"], "the child was handed no subtree"
    assert result["helped"] == result["alone"]
    assert result["nodes_helped"] == result["nodes_alone"]
    assert "pkg3/mod2/file1.rs" not in {path for path, _, _ in result["alone"]}
    assert result["alive"] is (mode == "plain")


@pytest.mark.parametrize("mode", ["ahead", "ahead-finished", "ahead-killed", "ahead-elsewhere"])
def test_a_walk_adopts_the_walk_ahead_of_its_root_and_only_of_its_root(tmp_path: Path, mode: str) -> None:
    """A walk ahead of the root (a first search read while the server loads) becomes the walk's own:
    stopped where it is and shared out from there, or taken whole once it has ended, with nothing lost if
    the child dies meanwhile. A walk ahead of another root is stopped and dropped, and the child then
    helps this walk as usual."""
    root = tree(tmp_path)
    result = run(root, mode)
    assert result["helped"] == result["alone"]
    assert result["nodes_helped"] == result["nodes_alone"]
    assert result["alive"] is (mode != "ahead-killed")
    if mode == "ahead-elsewhere":
        assert result["adopted"] == []
        assert result["taken"], "after the dropped walk the child was handed no subtree"
        return
    [(adopted_root, walked, left)] = result["adopted"]
    assert adopted_root == str(root)
    if mode == "ahead-finished":
        assert (walked, left) == (len(result["nodes_alone"]), 0)
        assert result["taken"] == [], "the whole walk was done: nothing was left to hand over"
    if mode == "ahead-killed":
        assert (walked, left) == (0, 1), "the walk from the root comes back to be walked here"


def test_the_server_s_helper_neither_holds_its_pipes_nor_outlives_it(tmp_path: Path) -> None:
    """A client must see end-of-file on the server's stdout and stderr when the server exits, and the
    child must go with it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "CODEX_HOME": str(tmp_path)},
    )
    assert server.stdin is not None
    assert server.stdout is not None
    assert server.stderr is not None
    children: list[int] = []
    for _ in range(200):  # the fork happens at start; 10 s at most
        children = [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        if children:
            break
        time.sleep(0.05)
    assert len(children) == 1
    helper = children[0]
    assert [os.readlink(f"/proc/{helper}/fd/{fd}") for fd in (0, 1, 2)] == ["/dev/null"] * 3
    server.stdin.close()  # end of input: the server exits
    assert server.stdout.read() == b""
    server.stderr.read()
    assert server.wait(timeout=10) == 0
    for _ in range(200):
        status = Path(f"/proc/{helper}/stat")
        if not status.exists() or status.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the helper {helper} outlived its server")
