"""The one atomic-write helper: all or nothing, the mode from creation, nothing left by a kill."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codex_app_tools import atomic


@pytest.fixture(params=["o_tmpfile", "o_tmpfile_copied", "named"])
def scheme(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with O_TMPFILE, with O_TMPFILE where the kernel refuses both linkat forms (the bytes
    are copied to a named file), and with the named-temp scheme macOS takes."""
    if request.param == "named":
        monkeypatch.setattr(atomic, "_open_unnamed", lambda directory, mode: None)
    if request.param == "o_tmpfile_copied":
        monkeypatch.setattr(atomic, "_link_by_proc", lambda fd, named: False)
        monkeypatch.setattr(atomic, "_link_by_empty_path", lambda fd, named: False)
    return str(request.param)


def test_replaces_content_and_applies_mode(tmp_path: Path, scheme: str) -> None:
    target = tmp_path / "auth.json"
    target.write_text("old")
    atomic.atomic_write(target, "new", mode=0o600)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["auth.json"]


def test_failure_leaves_target_and_directory_untouched(tmp_path: Path, scheme: str) -> None:
    target = tmp_path / "config.toml"
    target.write_text("kept")

    def rejected_edit() -> None:
        with atomic.atomic_writer(target) as handle:
            handle.write(b"half")
            raise RuntimeError("rejected edit")

    with pytest.raises(RuntimeError):
        rejected_edit()
    assert target.read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_sweep_removes_only_our_temp_names(tmp_path: Path) -> None:
    target = tmp_path / "auth.json"
    orphan = atomic.temp_name(target)
    orphan.write_text("secret")
    unrelated = tmp_path / ".auth.json.bak"
    unrelated.write_text("user's")
    assert atomic.sweep_orphans(target) == 1
    assert not orphan.exists()
    assert unrelated.exists()


def test_kill_during_write_leaves_nothing(tmp_path: Path) -> None:
    """A writer killed with SIGKILL inside the block leaves neither a temp file nor a changed target."""
    target = tmp_path / "big.bin"
    target.write_bytes(b"before")
    script = textwrap.dedent(
        f"""
        import sys, time
        from codex_app_tools.atomic import atomic_writer
        with atomic_writer({str(target)!r}) as handle:
            handle.write(b"x" * (1 << 20))
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    assert target.read_bytes() == b"before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]
