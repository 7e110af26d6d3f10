"""zig as a C cross compiler for static musl Linux targets, taken from the `ziglang` PyPI package.

zig ships musl and a clang for every architecture, so one `pip install` gives reproducible static builds
for x86_64 and aarch64 without an apt toolchain. Its first compile for a target builds musl (about a
minute) into zig's global cache, which later builds reuse.
"""

from __future__ import annotations

import functools
import importlib.util
import platform
import shlex
import subprocess
from pathlib import Path

from release.cli import ReleaseError
from release.targets import Target
from release.toolchains import write_script

MUSL_64BIT_ANSWERS = {
    "ac_cv_func_strcoll_works": "yes",
    "zsh_cv_func_realpath_accepts_null": "yes",
    "zsh_cv_func_tgetent_accepts_null": "yes",
    "zsh_cv_getcwd_malloc": "yes",
    "zsh_cv_long_is_64_bit": "yes",
    "zsh_cv_printf_has_lld": "yes",
    "zsh_cv_rlim_t_is_longer": "no",
    "zsh_cv_type_rlim_t_is_unsigned": "yes",
}
"""What zsh's configure measures by running test programs on 64-bit Linux with musl and our ncurses,
recorded from a native x86_64 build. Cross compiling (aarch64) it would otherwise assume its pessimistic
defaults, such as a 32-bit `long`. Only answers that differ from those defaults are listed; given for every
zig target so the result never depends on whether the build machine can run the target's binaries."""


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
    static = True
    builds_ncurses = True
    term_lib = "ncursesw"

    def __init__(self, target: Target) -> None:
        if target.zig_target is None:
            raise ReleaseError(f"target {target.triple} has no zig target")
        self.zig_target = target.zig_target

    def check(self) -> None:
        zig_version()

    def version(self) -> str:
        return f"zig {zig_version()}"

    def configure_args(self) -> list[str]:
        return [f"--host={self.zig_target}"]

    def configure_answers(self) -> dict[str, str]:
        return dict(MUSL_64BIT_ANSWERS)

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
