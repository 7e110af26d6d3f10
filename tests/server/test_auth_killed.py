"""A server killed (SIGKILL) in the middle of logins leaves no temporary copy of a secret behind for long.

Each round starts a server on the same codex home, pipelines a stream of API key logins, and kills it soon
after the first of them is on disk, while the rest are still being written. A write is an unnamed O_TMPFILE
file, so a kill while its bytes are written leaves nothing; the one window left is the instant between
linking the complete file to its temporary name and renaming that over auth.json (linkat(2) cannot replace
an existing name). A kill in that window leaves a hard link to a complete auth.json, in the helper's
pattern, which the next server start removes. Orphans an older version left are removed at startup and on
logout too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.server.kill_support import INITIALIZE, kill_when, start_server

KILLS = 50
LOGINS_PER_ROUND = 400
KILL_DELAYS_SECONDS = (0.0, 0.03, 0.06, 0.1, 0.15, 0.2)
"""How long after the first login is stored the kill comes: spread over the burst, which takes ~0.5 s."""
HELPER_TEMP = re.compile(r"\.auth\.json\.[0-9a-f]{12}\.tmp")
"""The temporary name `codex_app_tools.atomic.temp_name` gives auth.json."""


def _leftovers(home: Path) -> list[str]:
    return sorted(name for name in os.listdir(home) if name != "auth.json")


def _kill_mid_logins(home: Path, round_: int) -> tuple[bool, list[str]]:
    """One server, a burst of logins, SIGKILL while they are stored. Returns (caught mid-burst, leftovers)."""
    keys = [f"sk-kill-{round_}-{n}" for n in range(LOGINS_PER_ROUND)]
    lines = [INITIALIZE] + [
        {"id": n + 1, "method": "account/login/start", "params": {"type": "apiKey", "apiKey": key}}
        for n, key in enumerate(keys)
    ]
    auth = home / "auth.json"
    auth.unlink(missing_ok=True)
    delay = KILL_DELAYS_SECONDS[round_ % len(KILL_DELAYS_SECONDS)]
    caught = kill_when(home, lines, lambda _pid: auth.exists(), after=delay)
    if caught:
        stored = json.loads(auth.read_text())
        assert stored["OPENAI_API_KEY"] in keys
    leftovers = _leftovers(home)
    for name in leftovers:
        if HELPER_TEMP.fullmatch(name):
            assert json.loads((home / name).read_text())["OPENAI_API_KEY"] in keys, f"{name} is torn"
    return caught, leftovers


def test_kills_during_logins_leave_no_temporary_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    rounds = [_kill_mid_logins(home, round_) for round_ in range(KILLS)]
    assert sum(caught for caught, _ in rounds) >= KILLS // 2, "the kills never landed during the logins"
    left_by_kills = [name for _, leftovers in rounds for name in leftovers]
    assert [name for name in left_by_kills if not HELPER_TEMP.fullmatch(name)] == []
    _serve_briefly(home)
    assert _leftovers(home) == [], f"{len(left_by_kills)} kills landed between link and rename; start swept none"


def _serve_briefly(home: Path) -> None:
    """Start a server, initialize it, end its input."""
    server = start_server(home)
    server.communicate((json.dumps(INITIALIZE) + "\n").encode(), timeout=30)


def _plant_orphans(home: Path) -> list[Path]:
    """Temporary names of the atomic helper and of the `mkstemp` scheme older versions used."""
    orphans = [home / ".auth.json.0123456789ab.tmp", home / ".auth.json.k3x_9q1z.tmp"]
    for orphan in orphans:
        orphan.write_text('{"OPENAI_API_KEY": "sk-orphan"}')
    return orphans


def test_a_starting_server_sweeps_orphaned_auth_temp_files(tmp_path: Path) -> None:
    _plant_orphans(tmp_path)
    (tmp_path / ".auth.json.kept").write_text("not ours")
    _serve_briefly(tmp_path)
    assert _leftovers(tmp_path) == [".auth.json.kept"]


def test_logout_sweeps_orphaned_auth_temp_files(tmp_path: Path) -> None:
    server = start_server(tmp_path, stdout=subprocess.PIPE)
    assert server.stdin is not None
    assert server.stdout is not None
    server.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
    server.stdin.flush()
    server.stdout.readline()
    _plant_orphans(tmp_path)
    server.stdin.write((json.dumps({"id": 1, "method": "account/logout"}) + "\n").encode())
    server.stdin.flush()
    assert json.loads(server.stdout.readline())["id"] == 1
    server.stdin.close()
    server.wait(30)
    server.stdout.close()
    assert _leftovers(tmp_path) == []
