"""`app-server`: serve the JSON-RPC app-server protocol over stdio (default) or websocket.

Imports are deliberately lazy: for stdio, the initialize handshake is answered before asyncio, pydantic
or any handler module loads (see server.transport.stdio).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from server.rpc import DEFAULT_MAX_IN_FLIGHT

if TYPE_CHECKING:
    from server.session import ServerContext
    from server.transport.listen import ListenAddress


class UsageError(Exception):
    """A bad command line or environment; printed as one line, exit status 2."""


class StartupError(Exception):
    """Valid flags the server still cannot start with (unreadable secret, port in use); one line, exit 1."""


def codex_home(environ: dict[str, str] | os._Environ[str]) -> Path:
    """CODEX_HOME if set (made absolute), else ~/.codex, as upstream resolves it."""
    configured = environ.get("CODEX_HOME")
    return Path(configured).absolute() if configured else Path.home() / ".codex"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="app-server",
        description="A compact codex-compatible JSON-RPC 2.0 app-server (protocol of upstream 0.163).",
        epilog="Messages are one JSON object per line on stdio, one per text frame on websocket. "
        "State lives in $CODEX_HOME (default ~/.codex).",
    )
    parser.add_argument(
        "--listen",
        default="stdio://",
        metavar="URL",
        help="stdio:// (default) or ws://IP:PORT (port 0 picks a free port; loopback recommended)",
    )
    add_websocket_auth_arguments(parser)
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config.toml value for this process (repeatable; VALUE is TOML, else a string)",
    )
    parser.add_argument(
        "--enable",
        action="append",
        default=[],
        metavar="FEATURE",
        help="enable a feature flag (repeatable); same as -c features.FEATURE=true",
    )
    parser.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="FEATURE",
        help="disable a feature flag (repeatable); same as -c features.FEATURE=false",
    )
    parser.add_argument(
        "-p",
        "--profile",
        metavar="NAME",
        help="layer $CODEX_HOME/NAME.config.toml over config.toml (upstream's profile-v2 files)",
    )
    parser.add_argument(
        "--session-source",
        metavar="NAME",
        help="custom session source recorded on every thread this server starts",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=DEFAULT_MAX_IN_FLIGHT,
        metavar="N",
        help=f"requests per connection in flight before new ones get -32001 (default {DEFAULT_MAX_IN_FLIGHT})",
    )
    return parser


def add_websocket_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """Upstream's `--ws-*` flags, same names and meaning (protocol notes, section 9)."""
    group = parser.add_argument_group(
        "websocket authentication",
        "Clients send `Authorization: Bearer <token>` with the upgrade request. Secrets must be at least 32 "
        "bytes; generate one with `openssl rand -hex 32`.",
    )
    group.add_argument(
        "--ws-auth",
        choices=("capability-token", "signed-bearer-token"),
        metavar="MODE",
        help="capability-token (a shared random token) or signed-bearer-token (HS256 JWTs)",
    )
    group.add_argument("--ws-token-file", type=Path, metavar="PATH", help="file holding the capability token")
    group.add_argument(
        "--ws-token-sha256", metavar="HEX", help="SHA-256 (hex) of the capability token, instead of a file"
    )
    group.add_argument(
        "--ws-shared-secret-file", type=Path, metavar="PATH", help="file holding the HS256 secret for signed tokens"
    )
    group.add_argument("--ws-issuer", metavar="ISSUER", help="required `iss` claim of signed tokens")
    group.add_argument("--ws-audience", metavar="AUDIENCE", help="required `aud` claim of signed tokens")
    group.add_argument(
        "--ws-max-clock-skew-seconds",
        type=int,
        metavar="SECONDS",
        help="leeway for `exp`, `nbf` and `iat` of signed tokens (default 30)",
    )


def serve_stdio(args: argparse.Namespace, home: Path) -> int:
    from server.handlers import load_method_table
    from server.rpc import Connection, ServerInfo
    from server.transport import stdio

    connection = Connection(ServerInfo(codex_home=home), load_method_table, max_in_flight=args.max_in_flight)
    reader = stdio.LineReader()
    backlog = stdio.serve_until_initialized(connection, reader)
    if not connection.initialized:
        return 0  # input ended before initialize: nothing else could have happened
    ahead = stdio.ReadAhead(reader, backlog, walk_ahead)

    import asyncio

    asyncio.run(stdio.serve(server_context(args, home), connection, reader, backlog, ahead))
    return 0


WALKING_METHODS = frozenset({"fuzzyFileSearch", "fuzzyFileSearch/sessionStart"})
"""Requests that walk their roots the first time, before anything else they do."""


def walk_ahead(line: bytes) -> bool:
    """Seen while the server loads: a first search request starts the walk of its first root in the walk
    helper right away (server.search.helper), and the request's own walk adopts it. True once handed.
    A one-shot search with a blank query walks nothing, so it starts nothing either."""
    import json

    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return False  # phase two answers it as it answers any line it cannot read
    if not isinstance(message, dict) or message.get("method") not in WALKING_METHODS:
        return False
    params = message.get("params")
    if not isinstance(params, dict):
        return False
    roots, query = params.get("roots"), params.get("query")
    if not isinstance(roots, list) or not roots or not isinstance(roots[0], str):
        return False
    if message["method"] == "fuzzyFileSearch" and not (isinstance(query, str) and query.split()):
        return False
    from server.search import helper

    return helper.walk_ahead(roots[0])


def serve_websocket(args: argparse.Namespace, home: Path) -> int:
    """Validate the address and auth flags, then serve until SIGINT/SIGTERM. Imports websockets only here."""
    from server.transport import ws_auth
    from server.transport.listen import ListenUrlError, banner, parse_ws_url, unauthenticated_remote_warning

    try:
        address = parse_ws_url(args.listen)
    except ListenUrlError as exc:
        raise UsageError(str(exc)) from None
    if args.ws_max_clock_skew_seconds is not None and args.ws_max_clock_skew_seconds < 0:
        raise UsageError("--ws-max-clock-skew-seconds must not be negative")
    flags = ws_auth.AuthFlags(
        mode=args.ws_auth,
        token_file=args.ws_token_file,
        token_sha256=args.ws_token_sha256,
        shared_secret_file=args.ws_shared_secret_file,
        issuer=args.ws_issuer,
        audience=args.ws_audience,
        max_clock_skew_seconds=args.ws_max_clock_skew_seconds,
    )
    try:
        authenticator = ws_auth.from_flags(flags)
    except ws_auth.AuthConfigError as exc:
        raise StartupError(str(exc)) from None
    if authenticator is None and not address.is_loopback:
        print(f"app-server: {unauthenticated_remote_warning(address)}", file=sys.stderr, flush=True)

    def announce(bound: ListenAddress) -> None:
        print(banner(bound, authenticated=authenticator is not None), file=sys.stderr, flush=True)

    import asyncio

    from server.transport import websocket

    try:
        asyncio.run(
            websocket.run(
                server_context(args, home),
                address,
                authenticator,
                max_in_flight=args.max_in_flight,
                announce=announce,
            )
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StartupError(f"failed to listen on ws://{address.authority}: {reason} (os error {exc.errno})") from None
    return 0


def server_context(args: argparse.Namespace, home: Path) -> ServerContext:
    """The state every connection shares; first removes what a killed predecessor may have left behind."""
    from server.auth import storage
    from server.session import ServerContext, ServerOptions

    storage.sweep_orphans(home)

    flags = [f"features.{name}=true" for name in args.enable] + [f"features.{name}=false" for name in args.disable]
    options = ServerOptions(
        config_overrides=(*args.config, *flags), session_source=args.session_source, profile=args.profile
    )
    return ServerContext(codex_home=home, options=options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.max_in_flight < 1:
            raise UsageError("--max-in-flight must be at least 1")
        for override in args.config:
            if "=" not in override:
                raise UsageError(f"error parsing -c overrides: Invalid override (missing '='): {override}")
        home = codex_home(os.environ)
        if args.listen in ("stdio://", "stdio") or args.listen.startswith("ws://"):
            from server.search import helper

            helper.start()  # forked now, while this process has a single thread
        if args.listen in ("stdio://", "stdio"):
            return serve_stdio(args, home)
        if args.listen.startswith("ws://"):
            return serve_websocket(args, home)
        raise UsageError(f"unsupported --listen URL `{args.listen}`; expected `stdio://` or `ws://IP:PORT`")
    except UsageError as exc:
        print(f"app-server: error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"app-server: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
