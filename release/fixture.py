"""The tests' pinned DotSlash file for the patched zsh (`fixtures/zsh/codex-zsh`).

Tests that need the patched zsh run this file, so it must always describe a published release for every
target. It changes only through `fixture pin`, which the release workflow runs after publishing (and
proposes as a pull request); a file that dotslash cannot parse, or that lacks a target, is refused so the
pin never moves to something tests cannot use.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from release import dotslash, targets
from release.errors import ReleaseError

PIN = Path(__file__).resolve().parent.parent / "fixtures" / "zsh" / dotslash.OUTPUT_NAME


def check_pinnable(source: Path) -> dict[str, Any]:
    """Parse `source` with the real dotslash and require every target's platform; returns the parse."""
    parsed = dotslash.parse(source)
    platforms = parsed.get("platforms", {})
    missing = [t for t in targets.TARGETS if t.dotslash_platform not in platforms]
    if missing:
        names = ", ".join(f"{t.dotslash_platform} ({t.triple})" for t in missing)
        raise ReleaseError(f"{source} lacks target platform(s) {names}; refusing to pin it")
    return parsed


def release_tags(parsed: dict[str, Any]) -> list[str]:
    """The release tags a DotSlash file points at, from its github-release providers (for messages)."""
    tags = {
        str(p["tag"])
        for entry in parsed.get("platforms", {}).values()
        for p in entry.get("providers", [])
        if p.get("type") == "github-release" and "tag" in p
    }
    return sorted(tags)


def pin(source: Path, destination: Path = PIN) -> bool:
    """Copy `source` over the pin, byte for byte, if it is usable; returns whether anything changed."""
    parsed = check_pinnable(source)
    data = source.read_bytes()
    if destination.is_file() and destination.read_bytes() == data:
        return False
    dotslash.write_checked(destination, data)
    tags = release_tags(parsed)
    print(f"pinned {destination} to {', '.join(tags) if tags else 'a release without github-release providers'}")
    return True


def _cmd_pin(args: argparse.Namespace) -> int:
    if not args.source.is_file():
        raise ReleaseError(f"{args.source} does not exist")
    if not pin(args.source, args.to):
        print(f"{args.to} is already pinned to this file")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fixture",
        help="manage the tests' pinned DotSlash file",
        description="Manage the DotSlash file that tests needing the patched zsh run.",
    )
    commands = parser.add_subparsers(dest="fixture_command", required=True, metavar="COMMAND")
    pin_parser = commands.add_parser(
        "pin",
        help="pin the fixture to a published release's DotSlash file",
        description="Copy a DotSlash file over the pinned fixture, refusing one that does not parse or lacks a target.",
    )
    pin_parser.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE", help="DotSlash file")
    pin_parser.add_argument("--to", type=Path, default=PIN, help="the pin to update (default: %(default)s)")
    pin_parser.set_defaults(run=_cmd_pin)
