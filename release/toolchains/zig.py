"""zig as the C cross compiler of every release target, taken from the `ziglang` PyPI package.

zig ships musl, the macOS libc headers and libSystem stubs, and a clang for every architecture, so one
`pip install` gives reproducible builds for static x86_64 and aarch64 Linux and for arm64 macOS without an
apt toolchain or a Mac. Its first compile for a musl target builds musl (about a minute) into zig's global
cache, which later builds reuse. For arm64 macOS its linker writes the ad-hoc code signature the kernel
requires of every arm64 executable, so no separate signing step exists.
"""

from __future__ import annotations

import functools
import importlib.util
import platform
import shlex
import subprocess
from pathlib import Path

from release import cross_answers
from release.errors import ReleaseError
from release.targets import Target
from release.toolchains import write_script


@functools.cache
def zig_binary() -> Path:
    spec = importlib.util.find_spec("ziglang")
    if spec is None or spec.origin is None:
        raise ReleaseError("zig is not installed: pip install ziglang (or install this project with [zsh])")
    binary = Path(spec.origin).parent / "zig"
    if not binary.is_file():
        raise ReleaseError(f"the ziglang package has no zig binary at {binary}")
    return binary


@functools.cache
def zig_version() -> str:
    result = subprocess.run([zig_binary(), "version"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ReleaseError(f"`zig version` failed: {result.stderr.strip() or result.returncode}")
    return result.stdout.strip()


def build_machine_target() -> str:
    """zig target for helper programs that run on this machine during a cross build (ncurses' tools).

    Static musl rather than zig's native default, so they reuse the musl zig already built instead of
    compiling a glibc runtime as well.
    """
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return f"{machine}-linux-musl"


class Zig:
    name = "zig"
    builds_ncurses = True
    term_lib = "ncursesw"

    def __init__(self, target: Target) -> None:
        self.target = target
        self.zig_target = target.zig_target
        self.static = target.static

    def check(self) -> None:
        zig_version()

    def version(self) -> str:
        return f"zig {zig_version()}"

    def configure_args(self) -> list[str]:
        return [f"--host={self.target.autoconf_host}"]

    def configure_answers(self) -> dict[str, str]:
        return cross_answers.for_set(self.target.cross_answers)

    def write_wrappers(self, bin_dir: Path) -> dict[str, str]:
        zig = shlex.quote(str(zig_binary()))
        scripts = {
            "cc": f'exec {zig} cc -target {self.zig_target} "$@"',
            "build-cc": f'exec {zig} cc -target {build_machine_target()} "$@"',
            "ar": f'exec {zig} ar "$@"',
            "ranlib": f'exec {zig} ranlib "$@"',
        }
        for name, body in scripts.items():
            write_script(bin_dir / name, body)
        return {
            "CC": str(bin_dir / "cc"),
            "BUILD_CC": str(bin_dir / "build-cc"),
            "AR": str(bin_dir / "ar"),
            "RANLIB": str(bin_dir / "ranlib"),
        }

    def strip_flag(self) -> str:
        return "-s"
