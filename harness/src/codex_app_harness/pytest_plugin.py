"""pytest plugin: `app_server` and `app_server_factory` fixtures for any app-server.

Options:
  --app-server=codex|"<command>"|ws://HOST:PORT   which server to drive: the upstream binary (default), a stdio
                                          command line, a running websocket server, or an alias from the
                                          `app_server_aliases` ini option
  --app-server-url=ws://HOST:PORT         drive an already running websocket server instead of starting one
  --app-server-token=TOKEN                bearer token for a URL (or APP_SERVER_TOKEN)
  --app-server-schema=DIR                 validate every response and notification against upstream's schema
  --harness-chaos[=SEED]                  delay and reorder notification delivery (seeded)

ini options (`[tool.pytest.ini_options]`): `app_server` (the default for --app-server), `app_server_aliases`
(lines `NAME = COMMAND`, `{python}` standing for this interpreter), `app_server_schema_extensions`
(notification methods the server sends that the schema lacks).

Every server gets its own temporary CODEX_HOME, working directory and process, so tests are independent and
safe under `pytest -n auto` (ports, if any, are the server's to choose). When a test fails, the stderr of
each server it started and the chaos seed are attached to the report.
"""

from __future__ import annotations

import os
import random
import shlex
import sys
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from codex_app_harness.chaos import Chaos
from codex_app_harness.sync import Client, close_all
from codex_app_harness.transports import default_env

if TYPE_CHECKING:
    from codex_app_harness.websocket_server import WebSocketServer

UPSTREAM_KIND = "codex"
URL_SCHEMES = ("ws://", "wss://")
STASH_CLIENTS = pytest.StashKey[list[Client]]()
STASH_WS_SERVERS = pytest.StashKey[list["WebSocketServer"]]()
ALIASES: dict[str, str] = {}
"""`app_server_aliases` of the running session (name -> command line), read once in `pytest_configure` so
`server_command(kind)` means the same thing in fixtures, helpers and tests."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("app-server harness")
    group.addoption(
        "--app-server",
        default=os.environ.get("APP_SERVER"),
        help="server under test: codex (the upstream binary), a command line, a ws:// URL, or an alias "
        "(default: the `app_server` ini option, else codex)",
    )
    group.addoption(
        "--app-server-url",
        default=os.environ.get("APP_SERVER_URL"),
        help="websocket URL of a running server to drive (no per-test isolation: the server is shared)",
    )
    group.addoption(
        "--app-server-token",
        default=os.environ.get("APP_SERVER_TOKEN"),
        help="bearer token sent with --app-server-url (prefer the APP_SERVER_TOKEN variable: argv is visible)",
    )
    group.addoption("--app-server-schema", default=None, help="upstream JSON schema dir to validate messages")
    group.addoption(
        "--harness-chaos",
        nargs="?",
        const="random",
        default=None,
        help="delay/reorder notifications; optional integer seed (printed on failure)",
    )
    parser.addini("app_server", "default --app-server", default=UPSTREAM_KIND)
    parser.addini(
        "app_server_aliases", "lines NAME = COMMAND for --app-server ({python} is this interpreter)", type="linelist"
    )
    parser.addini(
        "app_server_schema_extensions", "notification methods accepted without a schema type", type="linelist"
    )


def server_command(kind: str, aliases: Mapping[str, str] | None = None) -> list[str]:
    """The command line that starts a stdio app-server: an alias, `codex` (upstream), or a command line."""
    table = ALIASES if aliases is None else aliases
    if kind in table:
        return shlex.split(table[kind].replace("{python}", shlex.quote(sys.executable)))
    if kind == UPSTREAM_KIND:
        from codex_app_harness.upstream import codex_binary

        return [str(codex_binary()), "app-server"]
    return shlex.split(kind)


def parse_aliases(lines: Sequence[str]) -> dict[str, str]:
    """`NAME = COMMAND` lines (the `app_server_aliases` ini option) as a table."""
    table = {}
    for line in lines:
        name, equals, command = line.partition("=")
        if not equals or not name.strip() or not command.strip():
            raise pytest.UsageError(f"app_server_aliases: expected `NAME = COMMAND`, got {line!r}")
        table[name.strip()] = command.strip()
    return table


def selected_server(config: pytest.Config) -> str:
    """--app-server, else the `app_server` ini option (whose default is the upstream binary)."""
    kind: str | None = config.getoption("--app-server")
    return kind or str(config.getini("app_server"))


def server_url(config: pytest.Config) -> str | None:
    """The websocket URL to drive: --app-server-url, or --app-server given as a URL."""
    url: str | None = config.getoption("--app-server-url")
    kind = selected_server(config)
    return url or (kind if kind.startswith(URL_SCHEMES) else None)


@pytest.fixture(scope="session")
def app_server_kind(request: pytest.FixtureRequest) -> str:
    """What --app-server named: "codex", an alias (this repository's "python"), a command line or a URL."""
    return selected_server(request.config)


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
    from codex_app_harness.schema import UpstreamSchema

    return UpstreamSchema(Path(directory), extensions=request.config.getini("app_server_schema_extensions"))


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
    url = server_url(request.config)
    server_token: str | None = request.config.getoption("--app-server-token")

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
        index = len(clients)
        chaos = None
        if harness_chaos_seed is not None:
            chaos = Chaos(harness_chaos_seed, stream=f"{request.node.nodeid}#{index}")
        if url is not None:
            client = connect_to_url(
                url, server_token, chaos, env=env, args=args, config_toml=config_toml, home=codex_home
            )
        else:
            home = codex_home or tmp_path_factory.mktemp("home") / "codex"
            home.mkdir(parents=True, exist_ok=True)
            if config_toml is not None:
                (home / "config.toml").write_text(config_toml)
            client = Client.spawn(
                [*server_command(app_server_kind), *args],
                env=default_env(home, env),
                # Not the checkout: a server must not pick up the repository's project config or write there.
                cwd=cwd or home.parent,
                chaos=chaos,
                codex_home=home,
            )
        if upstream_schema is not None:
            client.inner.validators.append(upstream_schema.validator())
        clients.append(client)
        if initialize:
            client.initialize(name=client_name, experimental_api=experimental_api, opt_out=opt_out)
        return client

    yield start
    close_all(clients)
    errors = [error for client in clients for error in client.inner.validation_errors]
    if errors:
        pytest.fail("\n".join(str(error) for error in errors), pytrace=False)


def connect_to_url(
    url: str,
    token: str | None,
    chaos: Chaos | None,
    *,
    env: Mapping[str, str] | None,
    args: Sequence[str],
    config_toml: str | None,
    home: Path | None,
) -> Client:
    """A client of the shared server at `url`; a test that needs a server of its own cannot run this way."""
    wanted = {"env": env, "args": args, "config_toml": config_toml, "codex_home": home}
    needs_own_server = sorted(name for name, value in wanted.items() if value)
    if needs_own_server:
        pytest.fail(
            f"this test starts its own server ({', '.join(needs_own_server)}), "
            f"which --app-server-url={url} cannot provide; run it without --app-server-url",
            pytrace=False,
        )
    return Client.connect(url, token=token, chaos=chaos)


@pytest.fixture
def ws_server_factory(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    app_server_kind: str,
    harness_chaos_seed: int | None,
    upstream_schema: Any,
) -> Iterator[Callable[..., WebSocketServer]]:
    """Start `--app-server` with `--listen ws://127.0.0.1:0 *args`: `ws_server_factory(args=[...], env=...)`.

    `.connect(token=...)` on the result opens clients, schema-checked and chaos-delayed like the stdio ones.
    """
    from codex_app_harness.websocket_server import WebSocketServer

    servers: list[WebSocketServer] = []
    request.node.stash[STASH_WS_SERVERS] = servers
    validating = upstream_schema is not None

    def start(*, args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> WebSocketServer:
        home = tmp_path_factory.mktemp("home") / "codex"
        home.mkdir(parents=True)
        stream = f"{request.node.nodeid}#ws{len(servers)}"
        server = WebSocketServer.start(
            [*server_command(app_server_kind), "--listen", "ws://127.0.0.1:0", *args],
            env=default_env(home, env),
            cwd=home.parent,
            chaos=lambda i: None if harness_chaos_seed is None else Chaos(harness_chaos_seed, stream=f"{stream}.{i}"),
            validators=lambda: [upstream_schema.validator()] if validating else [],
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
    errors = [error for server in servers for client in server.clients for error in client.inner.validation_errors]
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
        ws_servers: list[WebSocketServer] = item.stash.get(STASH_WS_SERVERS, [])
        for index, server in enumerate(ws_servers):
            report.sections.append((f"websocket app-server #{index} stderr", "\n".join(server.stderr[-200:])))
        chaos = next((c.inner.chaos for c in clients if c.inner.chaos is not None), None)
        if chaos is not None:
            report.sections.append(("harness chaos", chaos.describe()))
    return report


def pytest_configure(config: pytest.Config) -> None:
    ALIASES.clear()
    ALIASES.update(parse_aliases(config.getini("app_server_aliases")))
    chaos = config.getoption("--harness-chaos")
    if chaos not in (None, "random") and not str(chaos).isdigit():
        # `--harness-chaos tests/x` would otherwise take the path as the seed and fail in every test.
        raise pytest.UsageError(
            f"--harness-chaos takes a non-negative integer seed, got {chaos!r}: write --harness-chaos=SEED"
        )


def pytest_report_header(config: pytest.Config) -> str:
    chaos = config.getoption("--harness-chaos")
    return f"app-server: {server_url(config) or selected_server(config)}" + (f", chaos: {chaos}" if chaos else "")
