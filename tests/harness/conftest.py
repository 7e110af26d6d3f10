"""Fixtures that start the scripted fake server (see fake_server.py for the step language)."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import Chaos, Client

FAKE_SERVER = Path(__file__).with_name("fake_server.py")

pytest_plugins = ["pytester"]


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
