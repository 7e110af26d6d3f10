"""The system clang on macOS: a fallback toolchain for `aarch64-apple-darwin` (`--toolchain darwin-clang`).

The release builds macOS on Linux with zig; this exists for developing on a Mac. It follows the same recipe
so its output passes the same structural check: the pinned ncurses linked statically, libSystem the only
dylib, macOS 12 as the minimum. It cannot run anywhere but a Mac and is not tested here.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

from release.errors import ReleaseError
from release.targets import MACOS_MINIMUM, Target
from release.toolchains import write_script


class DarwinClang:
    name = "darwin-clang"
    static = False
    builds_ncurses = True
    term_lib = "ncursesw"

    def __init__(self, target: Target) -> None:
        self.target = target

    def check(self) -> None:
        if platform.system() != "Darwin" or platform.machine() != self.target.machine:
            raise ReleaseError(
                f"{self.target.triple} is built with the system clang on macOS {self.target.machine}; "
                f"this machine is {platform.system()} {platform.machine()}"
            )
        if shutil.which("clang") is None:
            raise ReleaseError("clang not found: run xcode-select --install")

    def version(self) -> str:
        result = subprocess.run(["clang", "--version"], capture_output=True, text=True, check=False)
        return result.stdout.splitlines()[0] if result.returncode == 0 and result.stdout else "clang"

    def configure_args(self) -> list[str]:
        return []

    def configure_answers(self) -> dict[str, str]:
        return {}

    def write_wrappers(self, bin_dir: Path) -> dict[str, str]:
        write_script(bin_dir / "cc", f'exec clang -arch arm64 -mmacosx-version-min={MACOS_MINIMUM} "$@"')
        return {"CC": str(bin_dir / "cc")}

    def strip_flag(self) -> str:
        return "-Wl,-S,-x"
