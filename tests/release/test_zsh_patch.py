"""The EXEC_WRAPPER patch, pinned against the real static build: what the wrapper receives, what it never
receives, and that a broken wrapper never lets the command run unwrapped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from release.zsh.shared import HostBuild

LOGGING_WRAPPER = """#!/bin/sh
printf '%s\\n' "$@" >> "$WRAPPER_LOG"
path=$1
shift 2
exec "$path" "$@"
"""


class Shell:
    def __init__(self, zsh: Path, tmp: Path) -> None:
        self.zsh = zsh
        self.tmp = tmp
        self.log = tmp / "wrapper.log"
        self.wrapper = tmp / "wrapper"
        self.wrapper.write_text(LOGGING_WRAPPER)
        self.wrapper.chmod(0o755)

    def run(self, script: str, *, wrapper: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.defpath, "WRAPPER_LOG": str(self.log), "HOME": str(self.tmp)}
        env["EXEC_WRAPPER"] = str(self.wrapper) if wrapper is None else wrapper
        return subprocess.run(
            [str(self.zsh), "-fc", script], env=env, cwd=self.tmp, capture_output=True, text=True, timeout=60
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def sh(host_zsh: HostBuild, tmp_path: Path) -> Shell:
    return Shell(host_zsh.zsh, tmp_path)


def executable(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_wrapper_receives_resolved_path_argv0_and_args(sh: Shell) -> None:
    result = sh.run("/bin/echo one 'two words'")
    assert result.stdout == "one two words\n"
    assert sh.calls() == ["/bin/echo", "/bin/echo", "one", "two words"]


def test_path_lookup_hands_the_wrapper_the_resolved_path(sh: Shell, tmp_path: Path) -> None:
    tool = executable(tmp_path / "bin" / "tool", 'echo "tool $*"')
    result = sh.run(f"PATH={tool.parent}; tool x")
    assert result.stdout == "tool x\n"
    assert sh.calls() == [str(tool), "tool", "x"]


def test_path_search_skips_non_executable_files_and_directories(sh: Shell, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tool").write_text("#!/bin/sh\necho wrong\n")
    (tmp_path / "b" / "tool").mkdir(parents=True)
    real = executable(tmp_path / "c" / "tool", "echo right")
    result = sh.run(f"PATH={tmp_path / 'a'}:{tmp_path / 'b'}:{real.parent}; tool")
    assert result.stdout == "right\n"
    assert sh.calls() == [str(real), "tool"]


def test_command_not_found_still_reported_and_wrapper_not_called(sh: Shell) -> None:
    result = sh.run("no-such-command-anywhere")
    assert result.returncode == 127
    assert "command not found: no-such-command-anywhere" in result.stderr
    assert sh.calls() == []


def test_missing_wrapper_fails_closed_with_127(sh: Shell, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = sh.run(f"/usr/bin/touch {marker}", wrapper=str(tmp_path / "no-such-wrapper"))
    assert result.returncode == 127
    assert "exec wrapper failed" in result.stderr
    assert not marker.exists()


def test_unexecutable_wrapper_fails_closed_with_126(sh: Shell, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    not_executable = tmp_path / "wrapper.txt"
    not_executable.write_text("#!/bin/sh\nexit 0\n")
    result = sh.run(f"/usr/bin/touch {marker}", wrapper=str(not_executable))
    assert result.returncode == 126
    assert "exec wrapper failed" in result.stderr
    assert not marker.exists()


def test_builtins_are_not_wrapped(sh: Shell, tmp_path: Path) -> None:
    result = sh.run(f"echo hi; print -r there; cd {tmp_path}; pwd")
    assert result.stdout == f"hi\nthere\n{tmp_path}\n"
    assert sh.calls() == []


def test_empty_assignment_disables_wrapping_for_one_command(sh: Shell) -> None:
    result = sh.run("EXEC_WRAPPER= /bin/echo plain; /bin/echo wrapped")
    assert result.stdout == "plain\nwrapped\n"
    assert sh.calls() == ["/bin/echo", "/bin/echo", "wrapped"]


def test_empty_wrapper_variable_means_no_wrapping(sh: Shell) -> None:
    assert sh.run("/bin/echo plain", wrapper="").stdout == "plain\n"
    assert sh.calls() == []


def test_exec_builtin_is_wrapped_with_its_argv0(sh: Shell) -> None:
    result = sh.run("exec -a renamed /bin/echo via-exec")
    assert result.stdout == "via-exec\n"
    assert sh.calls() == ["/bin/echo", "renamed", "via-exec"]


def test_relative_path_is_passed_as_typed(sh: Shell, tmp_path: Path) -> None:
    executable(tmp_path / "local-tool", "echo local")
    assert sh.run("./local-tool").stdout == "local\n"
    assert sh.calls() == ["./local-tool", "./local-tool"]


def test_pipeline_stages_are_each_wrapped(sh: Shell) -> None:
    result = sh.run("/bin/echo abc | /usr/bin/tr a-z A-Z")
    assert result.stdout == "ABC\n"
    assert sorted(sh.calls()) == sorted(["/bin/echo", "/bin/echo", "abc", "/usr/bin/tr", "/usr/bin/tr", "a-z", "A-Z"])
