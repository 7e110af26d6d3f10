"""Fixtures that start the scripted fake server (see fake_server.py for the step language)."""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Chaos, Client

FAKE_SERVER = Path(__file__).with_name("fake_server.py")


def fake_command(script: Path) -> list[str]:
    return [sys.executable, str(FAKE_SERVER), str(script)]


def write_script(path: Path, steps: tuple[dict[str, Any], ...]) -> Path:
    path.write_text("".join(json.dumps(step) + "\n" for step in steps))
    return path


FakeServer = Callable[..., Client]


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[FakeServer]:
    """`fake_server(step, step, ..., chaos=None)`: a sync Client of a fake server running those steps."""
    clients: list[Client] = []

    def start(*steps: dict[str, Any], chaos: Chaos | None = None) -> Client:
        script = write_script(tmp_path / f"script-{len(clients)}.jsonl", steps)
        client = Client.spawn(fake_command(script), chaos=chaos)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()


FakeScript = Callable[..., list[str]]


@pytest.fixture
def fake_script(tmp_path: Path) -> FakeScript:
    """`fake_script(step, ...)`: the command line of a fake server, for AsyncClient.spawn or --app-server."""
    counter = itertools.count()

    def command(*steps: dict[str, Any]) -> list[str]:
        return fake_command(write_script(tmp_path / f"command-{next(counter)}.jsonl", steps))

    return command


@dataclass
class InnerResult:
    """The outcome of an inner pytest run: its exit status and everything it printed."""

    returncode: int
    output: str

    def outcomes(self) -> dict[str, int]:
        """Counts from the final summary line ("1 failed, 2 passed in 0.5s"), keyed like assert_outcomes."""
        summaries = re.findall(r"^=+ (.+) in [\d.]+s", self.output, re.MULTILINE)
        assert summaries, f"no summary line in:\n{self.output}"
        counts = {word: int(count) for count, word in re.findall(r"(\d+) (\w+)", summaries[-1])}
        return {"errors" if word == "error" else word: count for word, count in counts.items()}

    def assert_outcomes(self, **expected: int) -> None:
        counts = self.outcomes()
        assert {key: counts.get(key, 0) for key in expected} == expected, self.output

    def fnmatch_lines(self, patterns: list[str]) -> None:
        """Each pattern matches a line, in order (like pytester's)."""
        lines = iter(self.output.splitlines())
        for pattern in patterns:
            assert any(fnmatch.fnmatch(line, pattern) for line in lines), f"no line matches {pattern!r}:\n{self.output}"


class InnerPytest:
    """A pytest session in a directory of its own, run as a subprocess so it loads the plugin afresh.

    (pytester would need `pytest_plugins` in a top-level conftest, which this package does not own.)"""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Its own (empty) configuration, so the inner session never adopts an enclosing project's: nox puts
        # the temporary directory inside this checkout, whose pyproject configures pytest for our server.
        (directory / "pytest.ini").write_text("[pytest]\n")

    def makepyfile(self, source: str) -> Path:
        path = self.directory / "test_inner.py"
        path.write_text(textwrap.dedent(source))
        return path

    def run(self, *args: str, env: Mapping[str, str] | None = None, cache: bool = False) -> InnerResult:
        """`env`: added to this process's environment; `cache`: keep pytest's cache provider (it is off by
        default so inner runs leave nothing behind)."""
        command = [sys.executable, "-m", "pytest", *([] if cache else ["-p", "no:cacheprovider"]), *args]
        environment = {**os.environ, **env} if env is not None else None
        done = subprocess.run(command, cwd=self.directory, capture_output=True, text=True, timeout=600, env=environment)
        return InnerResult(done.returncode, done.stdout + done.stderr)


@pytest.fixture
def inner_pytest(tmp_path: Path) -> InnerPytest:
    directory = tmp_path / "inner"
    directory.mkdir()
    return InnerPytest(directory)
