"""The one table of release targets.

Everything that varies by target is a column here; the workflow matrix, the DotSlash platforms and the CLI
choices are derived from this table (or checked against it by a test), never written down a second time.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Literal

Toolchain = Literal["zig", "darwin-clang"]


@dataclass(frozen=True)
class Target:
    """One artifact we build and publish."""

    triple: str
    """Rust-style target triple: also the artifact suffix (`codex-zsh-<triple>.tar.gz`)."""
    dotslash_platform: str
    """DotSlash's name for the platform this artifact runs on."""
    runner: str
    """GitHub-hosted runner image that builds it."""
    toolchain: Toolchain
    zig_target: str | None
    """`zig cc -target` value for the zig toolchain; None for native toolchains."""
    machine: str
    """`platform.machine()` of a host that runs the artifact natively."""
    system: str
    """`platform.system()` of a host that runs the artifact natively."""
    qemu: str | None
    """qemu-user binary that runs the artifact on a foreign Linux host, if any."""

    @property
    def asset_name(self) -> str:
        return f"codex-zsh-{self.triple}.tar.gz"


TARGETS: tuple[Target, ...] = (
    Target(
        triple="x86_64-unknown-linux-musl",
        dotslash_platform="linux-x86_64",
        runner="ubuntu-24.04",
        toolchain="zig",
        zig_target="x86_64-linux-musl",
        machine="x86_64",
        system="Linux",
        qemu="qemu-x86_64",
    ),
    Target(
        triple="aarch64-unknown-linux-musl",
        dotslash_platform="linux-aarch64",
        runner="ubuntu-24.04",
        toolchain="zig",
        zig_target="aarch64-linux-musl",
        machine="aarch64",
        system="Linux",
        qemu="qemu-aarch64",
    ),
    Target(
        triple="aarch64-apple-darwin",
        dotslash_platform="macos-aarch64",
        runner="macos-15",
        toolchain="darwin-clang",
        zig_target=None,
        machine="arm64",
        system="Darwin",
        qemu=None,
    ),
)

BY_TRIPLE: dict[str, Target] = {t.triple: t for t in TARGETS}


class UnknownTarget(ValueError):
    """Raised for a triple that is not in the table; the message lists the valid ones."""


def get(triple: str) -> Target:
    try:
        return BY_TRIPLE[triple]
    except KeyError:
        raise UnknownTarget(f"unknown target {triple!r}; choose one of: {', '.join(BY_TRIPLE)}") from None


def host() -> Target:
    """The target whose binaries run natively on this machine."""
    system, machine = platform.system(), platform.machine()
    aliases = {"amd64": "x86_64", "arm64": "aarch64"} if system == "Linux" else {"aarch64": "arm64"}
    machine = aliases.get(machine.lower(), machine)
    for target in TARGETS:
        if target.system == system and target.machine == machine:
            return target
    raise UnknownTarget(f"no release target runs natively on {system} {machine}")
