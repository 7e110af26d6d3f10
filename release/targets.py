"""The one table of release targets.

Everything that varies by target is a column here; the workflow matrix, the DotSlash platforms and the CLI
choices are derived from this table (or checked against it by a test), never written down a second time.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Literal

ToolchainName = Literal["zig", "darwin-clang"]


MACOS_MINIMUM = "12.0"
"""Oldest macOS the arm64 binary runs on (its LC_BUILD_VERSION `minos`): macOS 12 Monterey, the oldest release
Apple still shipped security updates for when zsh 5.9 was pinned."""

SMOKE_RUNNERS = {"Darwin": "macos-15"}
"""Runner images that execute artifacts of a system the build runners cannot run (the real smoke test)."""


@dataclass(frozen=True)
class Target:
    """One artifact we build and publish."""

    triple: str
    """Rust-style target triple: also the artifact suffix (`codex-zsh-<triple>.tar.gz`)."""
    dotslash_platform: str
    """DotSlash's name for the platform this artifact runs on."""
    runner: str
    """GitHub-hosted runner image that builds it."""
    toolchain: ToolchainName
    """The release toolchain (`release.toolchains.TOOLCHAINS` maps the name to its implementation)."""
    fallback_toolchains: tuple[ToolchainName, ...]
    """Other toolchains that can build the target, chosen with `--toolchain`; never the release path."""
    zig_target: str
    """`zig cc -target` value: architecture, OS (with its minimum version where it has one) and ABI."""
    autoconf_host: str
    """`--host` for autoconf scripts: a triple their config.sub knows and that names the target's OS."""
    static: bool
    """Links with `-static`. macOS has no static libc, so there the binary links libSystem (and nothing else)."""
    cross_answers: str
    """Key into `release.cross_answers.ANSWER_SETS`: what zsh's configure cannot measure when cross compiling."""
    machine: str
    """`platform.machine()` of a host that runs the artifact natively."""
    system: str
    """`platform.system()` of a host that runs the artifact natively."""
    qemu: str | None
    """qemu-user binary that runs the artifact on a foreign Linux host, if any."""
    ncurses_configure: tuple[str, ...] = ()
    """ncurses configure arguments this target needs on top of the shared ones."""
    excluded_modules: tuple[str, ...] = ()
    """zsh modules left out of this target although configure finds them usable, each said why in the row."""

    @property
    def asset_name(self) -> str:
        return f"codex-zsh-{self.triple}.tar.gz"

    @property
    def smoke_runner(self) -> str | None:
        """Runner that smoke-tests the built artifact natively, when the build runner cannot run it."""
        return SMOKE_RUNNERS.get(self.system)


TARGETS: tuple[Target, ...] = (
    Target(
        triple="x86_64-unknown-linux-musl",
        dotslash_platform="linux-x86_64",
        runner="ubuntu-24.04",
        toolchain="zig",
        fallback_toolchains=(),
        zig_target="x86_64-linux-musl",
        autoconf_host="x86_64-linux-musl",
        static=True,
        cross_answers="linux-musl-64",
        machine="x86_64",
        system="Linux",
        qemu="qemu-x86_64",
    ),
    Target(
        triple="aarch64-unknown-linux-musl",
        dotslash_platform="linux-aarch64",
        runner="ubuntu-24.04",
        toolchain="zig",
        fallback_toolchains=(),
        zig_target="aarch64-linux-musl",
        autoconf_host="aarch64-linux-musl",
        static=True,
        cross_answers="linux-musl-64",
        machine="aarch64",
        system="Linux",
        qemu="qemu-aarch64",
    ),
    Target(
        triple="aarch64-apple-darwin",
        dotslash_platform="macos-aarch64",
        # Built on Linux like the others; the macos-15 runner smoke-tests the artifact the Linux job built.
        runner="ubuntu-24.04",
        toolchain="zig",
        fallback_toolchains=("darwin-clang",),
        zig_target=f"aarch64-macos.{MACOS_MINIMUM}",
        autoconf_host="aarch64-apple-darwin",
        static=False,
        cross_answers="macos-arm64",
        # ncurses keeps a `short` ospeed on Apple by including the SDK's <sys/ttydev.h>, which zig's macOS
        # headers do not ship; an `unsigned` ospeed needs no old-tty header (only zsh links this ncurses).
        ncurses_configure=("--with-ospeed=unsigned",),
        # zsh/zftp includes <arpa/telnet.h>, which zig's macOS headers do not ship; the module is an FTP
        # client nobody needs for exec approval, so it is left out rather than its header vendored.
        excluded_modules=("zsh/zftp",),
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
