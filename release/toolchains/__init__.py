"""One module per toolchain over a shared interface, chosen by the `toolchain` column of the targets table.

A toolchain knows how to compile C for one target (compiler, archiver, flags) and whether it links fully
statically; the zsh recipe in `release.zsh.build` is the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from release.errors import ReleaseError
from release.targets import Target, ToolchainName


class Toolchain(Protocol):
    name: str
    static: bool
    """Links with `-static`; the smoke test then requires a binary with no program interpreter."""
    builds_ncurses: bool
    """True when no usable terminal library exists for the target, so ncurses is built from the pin."""
    term_lib: str
    """Terminal library zsh links (`--with-term-lib`)."""

    def check(self) -> None:
        """Raise `ReleaseError` saying what to install when this toolchain cannot run on this machine."""

    def version(self) -> str:
        """Compiler identity recorded in provenance and in the build cache key."""

    def configure_args(self) -> list[str]:
        """`--host` and friends for autoconf scripts."""

    def configure_answers(self) -> dict[str, str]:
        """Cache values for zsh's configure run-tests, which it cannot perform when cross compiling."""

    def write_wrappers(self, bin_dir: Path) -> dict[str, str]:
        """Write `cc`/`ar`/`ranlib` wrapper scripts and return the environment that points at them.

        Wrappers keep interpreter paths with spaces out of Makefiles and make the compiler command line
        in logs independent of where the virtualenv lives.
        """

    def strip_flag(self) -> str:
        """Linker flag that produces a stripped executable."""


def write_script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def implementations() -> dict[ToolchainName, Callable[[Target], Toolchain]]:
    """Toolchain name (the targets table's column) -> implementation; imported late because they import
    `write_script` from here."""
    from release.toolchains import darwin, zig

    return {"zig": zig.Zig, "darwin-clang": darwin.DarwinClang}


def for_target(target: Target, name: ToolchainName | None = None) -> Toolchain:
    """The toolchain the table names for `target`, or one of its listed fallbacks."""
    chosen = name or target.toolchain
    if chosen != target.toolchain and chosen not in target.fallback_toolchains:
        allowed = ", ".join([target.toolchain, *target.fallback_toolchains])
        raise ReleaseError(f"{target.triple} is built with {allowed}, not {chosen}")
    return implementations()[chosen](target)
