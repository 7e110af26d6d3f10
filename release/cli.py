"""The list of command groups of the release command line (the error type lives in `release.errors`)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# Modules that expose `register(subparsers)`; one line per command group.
COMMAND_MODULES: tuple[str, ...] = ("release.zsh.commands", "release.dotslash", "release.publish", "release.fixture")


def command_groups() -> list[Register]:
    return [importlib.import_module(name).register for name in COMMAND_MODULES]
