"""pytest plugin: `app_server` and `app_server_factory` fixtures for any app-server.

Options:
  --app-server=python|codex|"<command>"   which server to drive (default: python, ours)
  --app-server-schema=DIR                 validate every response and notification against upstream's schema
  --harness-chaos[=SEED]                  delay and reorder notification delivery (seeded)

Every server gets its own temporary CODEX_HOME and process, so tests are independent and safe under
`pytest -n auto`. When a test fails, the stderr of each server it started is attached to the report.
"""

from __future__ import annotations

import os
import random
import shlex
import sys
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.client import Chaos
from harness.sync import Client
from harness.transports import default_env

SERVER_KINDS = ("python", "codex")
STASH_CLIENTS = pytest.StashKey[list[Client]]()
NOTIFICATION_EXTENSIONS = ("thread/realtime/transcriptUpdated",)
"""Notifications our server sends that upstream 0.163 lacks (documented in the issues that add them)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("app-server harness")
    group.addoption(
        "--app-server",
        default=os.environ.get("APP_SERVER", "python"),
        help="server under test: python (ours), codex (upstream binary), or a command line",
    )
    group.addoption("--app-server-schema", default=None, help="upstream JSON schema dir to validate messages")
    group.addoption(
        "--harness-chaos",
        nargs="?",
        const="random",
        default=None,
        help="delay/reorder notifications; optional integer seed (printed on failure)",
    )


def server_command(kind: str) -> list[str]:
    """The command line that starts a stdio app-server of the given kind."""
    if kind == "python":
        return [sys.executable, "-m", "server"]
    if kind == "codex":
        from harness.upstream import codex_binary

        return [str(codex_binary()), "app-server"]
    return shlex.split(kind)


@dataclass
class ServerSpec:
    """How to start one server for a test; the factory fixture fills in the isolation."""

    kind: str
    codex_home: Path
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    cwd: Path | None = None


@pytest.fixture(scope="session")
def app_server_kind(request: pytest.FixtureRequest) -> str:
    """ "python", "codex" or the custom command given with --app-server."""
    kind: str = request.config.getoption("--app-server")
    return kind


@pytest.fixture(scope="session")
def harness_chaos_seed(request: pytest.FixtureRequest) -> int | None:
    value = request.config.getoption("--harness-chaos")
    if value is None:
        return None
    return random.SystemRandom().randrange(1 << 31) if value == "random" else int(value)


@pytest.fixture(scope="session")
def upstream_schema(request: pytest.FixtureRequest) -> Any:
    directory = request.config.getoption("--app-server-schema")
    if not directory:
        return None
    from harness.schema import UpstreamSchema

    return UpstreamSchema(Path(directory), extensions=NOTIFICATION_EXTENSIONS)


AppServerFactory = Callable[..., Client]


@pytest.fixture
def app_server_factory(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    app_server_kind: str,
    harness_chaos_seed: int | None,
    upstream_schema: Any,
) -> Iterator[AppServerFactory]:
    """Start servers: `app_server_factory(env=..., args=..., config_toml=..., initialize=True, ...)`.

    Each call gets a fresh CODEX_HOME (or the `codex_home` you pass, to restart on the same state).
    """
    clients: list[Client] = []
    request.node.stash[STASH_CLIENTS] = clients

    def start(
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        config_toml: str | None = None,
        codex_home: Path | None = None,
        cwd: Path | None = None,
        initialize: bool = True,
        experimental_api: bool = False,
        opt_out: Sequence[str] = (),
        client_name: str = "harness",
    ) -> Client:
        home = codex_home or tmp_path_factory.mktemp("home") / "codex"
        home.mkdir(parents=True, exist_ok=True)
        if config_toml is not None:
            (home / "config.toml").write_text(config_toml)
        seed = harness_chaos_seed
        chaos = Chaos(seed + len(clients)) if seed is not None else None
        client = Client.spawn(
            [*server_command(app_server_kind), *args],
            env=default_env(home, env),
            cwd=cwd,
            chaos=chaos,
            codex_home=home,
        )
        if upstream_schema is not None and app_server_kind == "python":
            client.inner.validators.append(upstream_schema.validator())
        clients.append(client)
        if initialize:
            client.initialize(name=client_name, experimental_api=experimental_api, opt_out=opt_out)
        return client

    yield start
    for client in clients:
        client.close()
    errors = [error for client in clients for error in client.inner.validation_errors]
    if errors:
        pytest.fail("\n".join(str(error) for error in errors), pytrace=False)


@pytest.fixture
def app_server(app_server_factory: AppServerFactory) -> Client:
    """An initialized client of a fresh server (experimental API enabled, as most suites want)."""
    return app_server_factory(experimental_api=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    clients: list[Client] = item.stash.get(STASH_CLIENTS, [])
    if report.failed:
        for index, client in enumerate(clients):
            if client.stderr:
                report.sections.append((f"app-server #{index} stderr", "\n".join(client.stderr[-200:])))
        seeds = [c.inner.chaos.seed for c in clients if c.inner.chaos is not None]
        if seeds:
            report.sections.append(("harness chaos", f"seeds: {seeds} (rerun with --harness-chaos={seeds[0]})"))
    return report


def pytest_report_header(config: pytest.Config) -> str:
    chaos = config.getoption("--harness-chaos")
    return f"app-server: {config.getoption('--app-server')}" + (f", chaos: {chaos}" if chaos else "")
