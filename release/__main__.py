"""`python -m release`: the release engineer's command line.

Each command group lives in its own module exposing `register(subparsers)`; this file only wires them up and
turns `ReleaseError` into a one-line message and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from release import cli
from release.errors import ReleaseError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m release",
        description="Build, smoke-test, package and publish the patched zsh; generate DotSlash files.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in cli.command_groups():
        register(subparsers)
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
