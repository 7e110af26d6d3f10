"""Smoke-test a built zsh: it runs, carries its modules, wraps exec as the patch promises, and is static (or,
for macOS, is the Mach-O the release promises).

A foreign-architecture binary runs through qemu-user when it is installed; when it is not, every check that
needs to run the binary is reported as "not run" so a missing emulator can never look like a pass.
"""

from __future__ import annotations

import os
import platform
import pty
import select
import shutil
import struct
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from release.targets import Target
from release.zsh.progress import Progress

Status = Literal["passed", "failed", "not run"]

TIMEOUT_S = 60
"""Generous per-command bound: under qemu-user a cold zsh start takes a few hundred milliseconds."""

LOG_WRAPPER = """#!/bin/sh
printf '%s\\n' "$@" >> "$SMOKE_LOG"
path=$1
shift 2
exec "$path" "$@"
"""
"""Records the argv it was given ([resolved_path, argv0, args...]) and runs the command."""


@dataclass(frozen=True)
class Check:
    """One check's outcome, as printed and recorded in smoke.json and the provenance."""

    name: str
    status: Status
    detail: str = ""


class CheckFailed(Exception):
    """A check ran and the binary misbehaved; the message says how."""


def runner(target: Target) -> list[str] | None:
    """Command prefix that runs `target` binaries here: [] natively, [qemu] for a foreign Linux arch."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    if target.system == platform.system() and target.machine in {machine, platform.machine()}:
        return []
    if target.qemu and platform.system() == "Linux":
        found = shutil.which(f"{target.qemu}-static") or shutil.which(target.qemu)
        if found:
            return [found]
    return None


def install_qemu(target: Target, progress: Progress) -> None:
    """Install Debian's qemu-user-static when `target` needs it and it is missing (root with apt-get only).

    Failure is not fatal: the smoke test then reports the foreign target as not run.
    """
    if runner(target) is not None or not target.qemu:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        progress.say(f"{target.qemu} is missing and this is not a root Debian machine: not installing it")
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with progress.step("install qemu-user-static"):
        for args in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "qemu-user-static"]):
            result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                progress.say(f"`{' '.join(args)}` failed: {(result.stderr.strip() or 'no output').splitlines()[-1]}")
                return


def is_static_elf(path: Path) -> bool:
    """True when the ELF executable has no program interpreter and no dynamic section (what `file` checks)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        return False
    is64, little = data[4] == 2, data[5] == 1
    end = "<" if little else ">"
    if is64:
        phoff, phentsize, phnum = (
            struct.unpack_from(f"{end}Q", data, 0x20)[0],
            *struct.unpack_from(f"{end}HH", data, 0x36),
        )
    else:
        phoff, phentsize, phnum = (
            struct.unpack_from(f"{end}I", data, 0x1C)[0],
            *struct.unpack_from(f"{end}HH", data, 0x2A),
        )
    pt_dynamic, pt_interp = 2, 3
    for i in range(phnum):
        (p_type,) = struct.unpack_from(f"{end}I", data, phoff + i * phentsize)
        if p_type in {pt_dynamic, pt_interp}:
            return False
    return True


class Smoke:
    """One smoke run: a scratch dir with a logging wrapper and fake PATH entries, and the checks."""

    def __init__(self, binary: Path, prefix: list[str], scratch: Path, version: str, modules: list[str]):
        self.binary = binary
        self.prefix = prefix
        self.scratch = scratch
        self.version = version
        self.modules = modules
        self.log = scratch / "wrapper.log"
        self.wrapper = scratch / "log-wrapper"

    def setup(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        self.wrapper.write_text(LOG_WRAPPER, encoding="utf-8")
        self.wrapper.chmod(0o755)
        not_executable = self.scratch / "path-a" / "smoke-cmd"
        not_executable.parent.mkdir()
        not_executable.write_text("#!/bin/sh\necho wrong-hit\n", encoding="utf-8")
        (self.scratch / "path-b" / "smoke-cmd").mkdir(parents=True)
        real = self.scratch / "path-c" / "smoke-cmd"
        real.parent.mkdir()
        real.write_text('#!/bin/sh\necho "hit $*"\n', encoding="utf-8")
        real.chmod(0o755)

    def zsh(self, script: str, wrapper: str | None = None, path: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": path or os.environ.get("PATH", os.defpath),
            "SMOKE_LOG": str(self.log),
            "HOME": str(self.scratch),
        }
        if wrapper is not None:
            env["EXEC_WRAPPER"] = wrapper
        self.log.unlink(missing_ok=True)
        return subprocess.run(
            [*self.prefix, str(self.binary), "-fc", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )

    def logged(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []

    def check_version(self) -> str:
        result = self.zsh("print -r -- $ZSH_VERSION")
        expect(result.stdout.strip() == self.version, f"version {result.stdout.strip()!r}, {result.stderr.strip()}")
        return f"zsh {self.version}"

    def check_script(self) -> str:
        script = (
            f"zmodload {' '.join(self.modules)} >/dev/null || exit 3\n"
            "(( 2**62 - 1 + 2**62 == 9223372036854775807 )) || exit 4\n"
            "typeset -a xs=(3 1 2); local -i sum=0\n"
            "for x in ${(n)xs}; do (( sum += x )); done\n"
            "[[ smoke-zsh =~ 'z(s)h' ]] && print -r -- script-$sum-$match[1]\n"
        )
        result = self.zsh(script)
        expect(result.stdout.strip() == "script-6-s", f"{result.stdout.strip()!r} {result.stderr.strip()}")
        return f"{len(self.modules)} modules load, 64-bit integers"

    def check_wrapper_argv(self) -> str:
        result = self.zsh("/bin/echo smoke-zsh", wrapper=str(self.wrapper))
        expect(result.stdout == "smoke-zsh\n", f"stdout {result.stdout!r} {result.stderr.strip()}")
        expect(self.logged() == ["/bin/echo", "/bin/echo", "smoke-zsh"], f"wrapper argv {self.logged()}")
        return "wrapper got [/bin/echo, /bin/echo, smoke-zsh]"

    def check_path_search(self) -> str:
        dirs = ":".join(str(self.scratch / d) for d in ("path-a", "path-b", "path-c"))
        result = self.zsh(f"PATH={dirs}; smoke-cmd one two", wrapper=str(self.wrapper), path=os.defpath)
        hit = str(self.scratch / "path-c" / "smoke-cmd")
        expect(result.stdout == "hit one two\n", f"stdout {result.stdout!r} {result.stderr.strip()}")
        expect(self.logged() == [hit, "smoke-cmd", "one", "two"], f"wrapper argv {self.logged()}")
        missing = self.zsh("no-such-command-smoke", wrapper=str(self.wrapper))
        expect(missing.returncode == 127, f"missing command exit {missing.returncode}")
        expect("command not found" in missing.stderr, f"stderr {missing.stderr.strip()!r}")
        expect(self.logged() == [], f"wrapper ran for a missing command: {self.logged()}")
        return "only the real PATH hit is wrapped; a miss is still 'command not found'"

    def check_builtins_and_opt_out(self) -> str:
        result = self.zsh(
            "echo builtin; print -r printed; EXEC_WRAPPER= /bin/echo unwrapped", wrapper=str(self.wrapper)
        )
        expect(result.stdout == "builtin\nprinted\nunwrapped\n", f"stdout {result.stdout!r}")
        expect(self.logged() == [], f"wrapper ran: {self.logged()}")
        return "builtins and `EXEC_WRAPPER= cmd` run unwrapped"

    def check_fail_closed(self) -> str:
        missing = self.zsh("/bin/echo must-not-run", wrapper=str(self.scratch / "no-such-wrapper"))
        expect(missing.returncode == 127 and missing.stdout == "", f"exit {missing.returncode}, {missing.stdout!r}")
        expect("exec wrapper failed" in missing.stderr, f"stderr {missing.stderr.strip()!r}")
        unusable = self.zsh("/bin/echo must-not-run", wrapper=str(self.scratch / "path-a" / "smoke-cmd"))
        expect(unusable.returncode == 126 and unusable.stdout == "", f"exit {unusable.returncode}")
        return "missing wrapper exits 127, unexecutable wrapper 126; command not run"

    def check_zle(self) -> str:
        output = run_in_pty(
            [*self.prefix, str(self.binary), "-f", "-i"],
            {"TERM": "xterm-256color", "HOME": str(self.scratch), "PATH": os.defpath},
            # Type the argument, jump to the line start with ^A (zle's beginning-of-line), type the
            # command: only a working line editor turns this into `print -r -- ZLE-ok`.
            b"${(U):-zle}-ok\x01print -r -- \r",
            "ZLE-ok",
        )
        expect("ZLE-ok" in output, f"pty output {output[-200:]!r}")
        return "line editing works in a pty with TERM=xterm-256color"


def expect(condition: bool, detail: str) -> None:
    if not condition:
        raise CheckFailed(detail)


def run_in_pty(argv: list[str], env: dict[str, str], line: bytes, until: str) -> str:
    """Type `line` into an interactive program once it has printed its prompt, then `exit` once `until`
    appears; returns everything the program wrote to the terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    output = b""
    typed = exited = False
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            output += chunk
            if not typed:
                os.write(master, line)
                typed = True
            elif not exited and until.encode() in output:
                os.write(master, b"exit\r")
                exited = True
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return output.decode(errors="replace")


def smoke(
    target: Target, binary: Path, scratch: Path, *, version: str, modules: list[str], static: bool
) -> list[Check]:
    """Run every check; a check that cannot run here is reported as "not run", never as passed."""
    results: list[Check] = []
    if static:
        ok = is_static_elf(binary)
        results.append(Check("static", "passed" if ok else "failed", "no PT_INTERP/PT_DYNAMIC" if ok else "dynamic"))
    if target.system == "Darwin":
        results.append(structure_check(binary))
    prefix = runner(target)
    checks: list[tuple[str, Callable[[Smoke], str]]] = [
        ("version", Smoke.check_version),
        ("script and modules", Smoke.check_script),
        ("wrapper argv", Smoke.check_wrapper_argv),
        ("PATH search", Smoke.check_path_search),
        ("builtins unwrapped", Smoke.check_builtins_and_opt_out),
        ("fail closed", Smoke.check_fail_closed),
        ("zle in a pty", Smoke.check_zle),
    ]
    if prefix is None:
        reason = f"cannot run {target.triple} binaries here" + (
            f" ({target.qemu} not found: apt-get install qemu-user-static)" if target.qemu else ""
        )
        return results + [Check(name, "not run", reason) for name, _ in checks]
    runner_smoke = Smoke(binary, prefix, scratch, version, modules)
    runner_smoke.setup()
    for name, check in checks:
        try:
            results.append(Check(name, "passed", check(runner_smoke)))
        except (CheckFailed, subprocess.TimeoutExpired, OSError) as exc:
            results.append(Check(name, "failed", str(exc)))
    return results


def structure_check(binary: Path) -> Check:
    """The Mach-O structure (release.zsh.macho): runs on any machine, so a Linux build proves it too."""
    from release.zsh import macho  # lief loads a large native library; only macOS artifacts need it

    try:
        return Check("mach-o structure", "passed", macho.check(binary))
    except (macho.MachOProblem, OSError) as exc:
        return Check("mach-o structure", "failed", str(exc))


def summary(results: list[Check]) -> dict[str, Any]:
    statuses = {c.status for c in results}
    overall: Status = "failed" if "failed" in statuses else "not run" if "not run" in statuses else "passed"
    return {"status": overall, "checks": [asdict(c) for c in results]}
