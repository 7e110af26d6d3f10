"""A server killed (SIGKILL) in the middle of fs/writeFile leaves the old file whole and no temporary file."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from tests.server.kill_support import INITIALIZE, kill_when

PAYLOAD = base64.b64encode(os.urandom(24 << 20)).decode()
"""Big enough that writing and fsyncing it takes a while, so the kill lands while the file is open."""
ROUNDS = 6


def _open_file_in(pid: int, directory: Path) -> bool:
    """Whether the process holds a file descriptor on a file in `directory` (the write is under way)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
    except OSError:
        return False
    return any(link.startswith(f"{directory}/") for link in links)


def _kill_mid_write(tmp_path: Path, round_: int) -> bool:
    """One server, one writeFile, SIGKILL as soon as the write has a file open; False if it was too late."""
    directory = tmp_path / f"round-{round_}"
    directory.mkdir()
    target = directory / "target.bin"
    target.write_bytes(b"old content")
    home = tmp_path / f"home-{round_}"
    home.mkdir()
    requests = [INITIALIZE, {"id": 1, "method": "fs/writeFile", "params": {"path": str(target), "dataBase64": PAYLOAD}}]
    caught = kill_when(home, requests, lambda pid: _open_file_in(pid, directory))
    assert sorted(path.name for path in directory.iterdir()) == ["target.bin"]
    content = target.read_bytes()
    assert content in (b"old content", base64.b64decode(PAYLOAD))
    return caught


def test_a_kill_during_write_file_leaves_no_orphan_temp_file(tmp_path: Path) -> None:
    caught = [_kill_mid_write(tmp_path, round_) for round_ in range(ROUNDS)]
    assert sum(caught) >= ROUNDS // 2, "the kill never landed while the file was being written"
