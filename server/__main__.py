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


class UsageError(Exception):
    """A bad command line or environment; printed as one line, exit status 2."""


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
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config.toml value for this process (repeatable; VALUE is TOML, else a string)",
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


def serve_stdio(args: argparse.Namespace, home: Path) -> int:
    from server.handlers import load_method_table
    from server.rpc import Connection, ServerInfo
    from server.transport import stdio

    connection = Connection(ServerInfo(codex_home=home), load_method_table, max_in_flight=args.max_in_flight)
    reader = stdio.LineReader()
    backlog = stdio.serve_until_initialized(connection, reader)
    if not connection.initialized:
        return 0  # input ended before initialize: nothing else could have happened

    import asyncio

    asyncio.run(stdio.serve(server_context(args, home), connection, reader, backlog))
    return 0


def server_context(args: argparse.Namespace, home: Path) -> ServerContext:
    from server.session import ServerContext, ServerOptions

    options = ServerOptions(config_overrides=tuple(args.config), session_source=args.session_source)
    return ServerContext(codex_home=home, options=options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.max_in_flight < 1:
            raise UsageError("--max-in-flight must be at least 1")
        home = codex_home(os.environ)
        if args.listen in ("stdio://", "stdio"):
            return serve_stdio(args, home)
        raise UsageError(f"unsupported --listen URL {args.listen!r}; expected stdio:// or ws://IP:PORT")
    except UsageError as exc:
        print(f"app-server: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
