"""pytest plugin: `app_server` and `app_server_factory` fixtures for any app-server.

Options:
  --app-server=codex|"<command>"|ws://HOST:PORT   which server to drive: the upstream binary (default), a stdio
                                          command line, a running websocket server, or an alias from the
                                          `app_server_aliases` ini option
  --app-server-url=ws://HOST:PORT         drive an already running websocket server instead of starting one
  --app-server-token=TOKEN                bearer token for a URL (or APP_SERVER_TOKEN)
  --app-server-schema=DIR                 validate every response and notification against upstream's schema
  --harness-chaos[=SEED|last]             delay and reorder notification delivery (seeded; `last`: the previous run's)
  --harness-invariants-off=NAME[,NAME]    do not check these protocol invariants (`all` for none)
  --harness-record=DIR                    write every message of every connection, both ways and timed, to
                                          DIR/<test id>.jsonl (what `python -m codex_app_harness.replay` serves)

ini options (`[tool.pytest.ini_options]`): `app_server` (the default for --app-server), `app_server_aliases`
(lines `NAME = COMMAND`, `{python}` standing for this interpreter), `app_server_schema_extensions`
(notification methods the server sends that the schema lacks), `harness_invariants_off` (invariant names).

Invariants (codex_app_harness.invariants) are checked for every connection at the end of each test's call:
a broken one fails the test with the transcript. `@pytest.mark.harness_invariants_off("NAME", ...)` turns
them off for one test.

Every server gets its own temporary CODEX_HOME, working directory and process, so tests are independent and
safe under `pytest -n auto` (ports, if any, are the server's to choose). When a test fails, its report gets
each connection's transcript tail, each server's stderr, the chaos seed and the command that reruns it.
"""

from __future__ import annotations

import asyncio
import os
import random
import shlex
import sys
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from codex_app_harness.chaos import Chaos
from codex_app_harness.client import SETTLE_GRACE
from codex_app_harness.invariants import INVARIANTS, Violation
from codex_app_harness.sync import Client, close_all, run
from codex_app_harness.transcript import Recording, Transcript, recording_name
from codex_app_harness.transports import default_env

if TYPE_CHECKING:
    from codex_app_harness.websocket_server import WebSocketServer

UPSTREAM_KIND = "codex"
URL_SCHEMES = ("ws://", "wss://")
STASH_CLIENTS = pytest.StashKey[list[Client]]()
STASH_WS_SERVERS = pytest.StashKey[list["WebSocketServer"]]()
STASH_RECORDING = pytest.StashKey[Recording]()
STASH_CHAOS_SEED = pytest.StashKey[int | None]()
CHAOS_CACHE_KEY = "codex_app_harness/chaos_seed"
WORKER_SEED_KEY = "codex_app_harness_chaos_seed"
LAST_SEED = "last"
INVARIANTS_MARKER = "harness_invariants_off"
ALL_INVARIANTS = "all"
TRANSCRIPT_TAIL = 50
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
        help="delay/reorder notifications; optional integer seed, or `last` (the previous run's); printed on failure",
    )
    group.addoption(
        "--harness-invariants-off",
        action="append",
        default=[],
        metavar="NAME[,NAME]",
        help=f"protocol invariants not to check: {', '.join(INVARIANTS)}, or {ALL_INVARIANTS}",
    )
    group.addoption(
        "--harness-record",
        default=None,
        metavar="DIR",
        help="record every message both ways, timed, as DIR/<test id>.jsonl (python -m codex_app_harness.replay)",
    )
    parser.addini("app_server", "default --app-server", default=UPSTREAM_KIND)
    parser.addini(
        "app_server_aliases", "lines NAME = COMMAND for --app-server ({python} is this interpreter)", type="linelist"
    )
    parser.addini(
        "app_server_schema_extensions", "notification methods accepted without a schema type", type="linelist"
    )
    parser.addini(
        "harness_invariants_off", f"protocol invariants not to check ({', '.join(INVARIANTS)})", type="linelist"
    )
    parser.addini(
        "harness_settle_grace",
        "seconds the end-of-test invariant check waits for responses and turn/completed still owed",
        default=str(SETTLE_GRACE),
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
    """The run's chaos seed (one for the whole run, xdist workers included), or None without chaos."""
    return request.config.stash.get(STASH_CHAOS_SEED, None)


@pytest.fixture(scope="session")
def upstream_schema(request: pytest.FixtureRequest) -> Any:
    directory = request.config.getoption("--app-server-schema")
    if not directory:
        return None
    from codex_app_harness.schema import UpstreamSchema

    return UpstreamSchema(Path(directory), extensions=request.config.getini("app_server_schema_extensions"))


AppServerFactory = Callable[..., Client]


def recorded_transcript(request: pytest.FixtureRequest, server: str) -> Transcript | None:
    """With --harness-record, the transcript of the test's next connection, written to the test's file."""
    directory = request.config.getoption("--harness-record")
    if directory is None:
        return None
    node: pytest.Item = request.node
    recording: Recording | None = node.stash.get(STASH_RECORDING, None)
    if recording is None:
        recording = node.stash[STASH_RECORDING] = Recording(Path(directory) / recording_name(node.nodeid), node.nodeid)
    return recording.transcript(server)


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
                url,
                server_token,
                chaos,
                env=env,
                args=args,
                config_toml=config_toml,
                home=codex_home,
                transcript=lambda: recorded_transcript(request, url),
            )
        else:
            home = codex_home or tmp_path_factory.mktemp("home") / "codex"
            home.mkdir(parents=True, exist_ok=True)
            if config_toml is not None:
                (home / "config.toml").write_text(config_toml)
            command = [*server_command(app_server_kind), *args]
            client = Client.spawn(
                command,
                env=default_env(home, env),
                # Not the checkout: a server must not pick up the repository's project config or write there.
                cwd=cwd or home.parent,
                chaos=chaos,
                codex_home=home,
                transcript=recorded_transcript(request, shlex.join(command)),
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
    transcript: Callable[[], Transcript | None] = lambda: None,
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
    return Client.connect(url, token=token, chaos=chaos, transcript=transcript())


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
            transcript=lambda connection_url: recorded_transcript(request, connection_url),
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
    errors = [error for server in servers for client in server.clients for error in client.inner.validation_errors]
    if errors:
        pytest.fail("\n".join(str(error) for error in errors), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """The recording is complete once every fixture has shut its servers down."""
    try:
        return (yield)
    finally:
        recording = item.stash.get(STASH_RECORDING, None)
        if recording is not None:
            recording.close()


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
    ws_servers: list[WebSocketServer] = item.stash.get(STASH_WS_SERVERS, [])
    if report.failed and (clients or ws_servers):
        for label, client in item_clients(item):
            tail = client.inner.transcript.tail(TRANSCRIPT_TAIL)
            if tail:
                report.sections.append((f"{label} transcript (last {len(tail)} messages)", "\n".join(tail)))
        for index, client in enumerate(clients):
            if client.stderr:
                report.sections.append((f"app-server #{index} stderr", "\n".join(client.stderr[-200:])))
        for index, server in enumerate(ws_servers):
            report.sections.append((f"websocket app-server #{index} stderr", "\n".join(server.stderr[-200:])))
        seed = item.config.stash.get(STASH_CHAOS_SEED, None)
        if seed is not None:
            report.sections.append(("harness chaos", Chaos(seed).describe()))
            report.user_properties.append(("harness_chaos_seed", seed))
        command = rerun_command(item, seed)
        report.sections.append(("harness rerun", command))
        report.user_properties.append(("harness_rerun", command))
    return report


def rerun_command(item: pytest.Item, seed: int | None) -> str:
    """The command line that runs this one test again the same way: same server, schema, invariants, seed.

    A bearer token is never written out: the rerun reads it from APP_SERVER_TOKEN, like the first run can."""
    config = item.config
    args = [sys.executable, "-m", "pytest", item.nodeid]
    url: str | None = config.getoption("--app-server-url")
    args.append(f"--app-server-url={url}" if url else f"--app-server={selected_server(config)}")
    schema = config.getoption("--app-server-schema")
    if schema:
        args.append(f"--app-server-schema={schema}")
    args.extend(f"--harness-invariants-off={names}" for names in config.getoption("--harness-invariants-off"))
    if seed is not None:
        args.append(f"--harness-chaos={seed}")
    return f"cd {shlex.quote(str(config.rootpath))} && {shlex.join(args)}"


def invariant_names(values: Sequence[str], origin: str) -> set[str]:
    """Names from the ini option, the flag (comma-separated) or the marker; `all` stands for every one."""
    names = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(names - set(INVARIANTS) - {ALL_INVARIANTS})
    if unknown:
        raise pytest.UsageError(
            f"{origin}: unknown invariant {', '.join(unknown)}; known: {', '.join(INVARIANTS)}, {ALL_INVARIANTS}"
        )
    return set(INVARIANTS) if ALL_INVARIANTS in names else names


def disabled_invariants(item: pytest.Item) -> set[str]:
    config = item.config
    names = invariant_names(config.getini("harness_invariants_off"), "harness_invariants_off")
    names |= invariant_names(config.getoption("--harness-invariants-off"), "--harness-invariants-off")
    for mark in item.iter_markers(INVARIANTS_MARKER):
        names |= invariant_names(mark.args, f"@pytest.mark.{INVARIANTS_MARKER}")
    return names


def item_clients(item: pytest.Item) -> list[tuple[str, Client]]:
    """Every connection a test opened through the fixtures, with the name its report sections use."""
    no_clients: list[Client] = []
    no_servers: list[WebSocketServer] = []
    stdio = item.stash.get(STASH_CLIENTS, no_clients)
    clients = [(f"app-server #{index}", client) for index, client in enumerate(stdio)]
    ws_servers = item.stash.get(STASH_WS_SERVERS, no_servers)
    for index, server in enumerate(ws_servers):
        clients.extend((f"websocket app-server #{index} client #{n}", c) for n, c in enumerate(server.clients))
    return clients


def broken_invariants(clients: Sequence[tuple[str, Client]], disabled: set[str], grace: float) -> str | None:
    """The failure message for the invariants broken on these connections, or None."""

    async def check() -> list[list[Violation]]:
        return list(await asyncio.gather(*(client.inner.finish_invariants(grace=grace) for _, client in clients)))

    found = run(check(), timeout=grace)
    lines: list[str] = []
    for (label, client), violations in zip(clients, found, strict=True):
        kept = [violation for violation in violations if violation.invariant not in disabled]
        if not kept:
            continue
        lines.append(f"{label} ({client.inner.name}):")
        lines.extend(f"  {violation}" for violation in kept)
        lines.append(f"  transcript, last {TRANSCRIPT_TAIL} messages:")
        lines.extend(f"    {line}" for line in client.inner.transcript.tail(TRANSCRIPT_TAIL))
    if not lines:
        return None
    switch = (
        f'(a test that breaks one on purpose: @pytest.mark.{INVARIANTS_MARKER}("NAME"); '
        "or --harness-invariants-off=NAME, or the harness_invariants_off ini option)"
    )
    return "\n".join(["harness invariants broken " + switch, *lines])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After the test body passed: the invariants of every connection it opened, as part of the test."""
    result = yield
    clients = item_clients(item)
    if clients:
        disabled = disabled_invariants(item)
        if len(disabled) < len(INVARIANTS):
            message = broken_invariants(clients, disabled, float(item.config.getini("harness_settle_grace")))
            if message is not None:
                pytest.fail(message, pytrace=False)
    return result


def pytest_configure(config: pytest.Config) -> None:
    ALIASES.clear()
    ALIASES.update(parse_aliases(config.getini("app_server_aliases")))
    config.addinivalue_line(
        "markers", f"{INVARIANTS_MARKER}(*names): do not check these harness invariants in this test"
    )
    invariant_names(config.getini("harness_invariants_off"), "harness_invariants_off")
    invariant_names(config.getoption("--harness-invariants-off"), "--harness-invariants-off")
    grace = str(config.getini("harness_settle_grace"))
    if not grace.replace(".", "", 1).isdigit():
        raise pytest.UsageError(f"harness_settle_grace: expected seconds (a non-negative number), got {grace!r}")
    config.stash[STASH_CHAOS_SEED] = chaos_seed(config)


def chaos_seed(config: pytest.Config) -> int | None:
    """The seed for this run: given, drawn once, or the previous run's (`last`, from pytest's cache).

    Drawn or looked up once, in the controlling process: xdist workers get it through `workerinput`, so a
    whole run, and the rerun command of any of its failures, share one seed."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_SEED_KEY in workerinput:
        seed: int | None = workerinput[WORKER_SEED_KEY]
        return seed
    chaos = config.getoption("--harness-chaos")
    if chaos is None:
        return None
    cache: pytest.Cache | None = getattr(config, "cache", None)
    if chaos == LAST_SEED:
        if cache is None:
            raise pytest.UsageError(
                "--harness-chaos=last reads the previous seed from pytest's cache, which is off "
                "(-p no:cacheprovider); pass the seed instead: --harness-chaos=SEED"
            )
        last = cache.get(CHAOS_CACHE_KEY, None)
        if not isinstance(last, int):
            raise pytest.UsageError("--harness-chaos=last: no previous chaos run in pytest's cache; give a seed")
        return last
    if chaos == "random":
        seed = random.SystemRandom().randrange(1 << 31)
    elif str(chaos).isdigit():
        seed = int(chaos)
    else:
        # `--harness-chaos tests/x` would otherwise take the path as the seed and fail in every test.
        raise pytest.UsageError(
            f"--harness-chaos takes a non-negative integer seed or `last`, got {chaos!r}: write --harness-chaos=SEED"
        )
    if cache is not None and workerinput is None:
        cache.set(CHAOS_CACHE_KEY, seed)
    return seed


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker uses the controller's seed (a `random` one would otherwise differ per worker)."""
    node.workerinput[WORKER_SEED_KEY] = node.config.stash.get(STASH_CHAOS_SEED, None)


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.stash.get(STASH_CHAOS_SEED, None)
    chaos = "" if seed is None else f", chaos seed: {seed}"
    return f"app-server: {server_url(config) or selected_server(config)}{chaos}"
