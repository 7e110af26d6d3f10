"""websocket transport: one JSON-RPC message per text frame, one ConnectionRunner per connection.

Every websocket connection is a client of its own, exactly like a stdio process: its own `rpc.Connection`
(initialize, opt-outs, in-flight limit) and its own `Session` (watches, search sessions, logins), released
when it disconnects. The websockets library does the protocol; this module only decides who gets in and
moves text frames.

The HTTP side follows upstream 0.163 as measured (protocol notes, section 9), in upstream's order:

1. Any `Origin` header: 403, empty body. Browsers always send one and are never legitimate clients, so a
   page cannot drive a local server (cross-site websocket hijacking). Checked first, even on health paths.
2. `GET|HEAD /healthz` and `/readyz`: 200, empty body, no auth, so load balancers need no secret.
3. Anything else that is not an upgrade: 400 with upstream's body.
4. Bearer token (when `--ws-auth` is set): 401 with the reason, before the upgrade and hence before any
   JSON-RPC message can reach `initialize`.
5. The upgrade itself, on any path, with no subprotocol and no compression (upstream negotiates neither,
   and per-connection deflate state would cost ~64 KB x connections).

Binary frames and text frames that are not one JSON-RPC message (including JSON nested too deep or holding
an escaped lone surrogate, see server.rpc) are ignored and the connection stays open, as upstream.
Protocol violations (a frame over MAX_MESSAGE_BYTES, invalid UTF-8 in a text frame) close that connection
with the RFC 6455 code (1009, 1007); no other connection notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import signal
from collections.abc import AsyncIterator, Callable

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from server.handlers import load_method_table
from server.rpc import Connection, ServerInfo
from server.runner import ConnectionRunner, log
from server.session import ServerContext
from server.transport import ws_auth
from server.transport.listen import ListenAddress

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest incoming message. Upstream's limit, measured: 16,000,000 bytes pass, 17,000,000 drop the
connection. Big enough for fs/writeFile of a ~12 MB file in base64; a bigger frame is refused before it
is buffered, so one client cannot make us allocate without bound."""

HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
HEALTH_METHODS = frozenset({"GET", "HEAD"})
NOT_AN_UPGRADE = b"Connection header did not include 'upgrade'"

LISTEN_BACKLOG = 1024
"""Connections the kernel queues while the event loop is busy. With asyncio's default of 100, a burst of 500
connects against a busy loop left 399 of them waiting out TCP's 1 s SYN retransmission; with 1024 (tokio's
default; the kernel caps it at net.core.somaxconn) none waited."""

HANDSHAKE_TIMEOUT_SECONDS = 10.0
"""A client must finish the HTTP upgrade within this time; bounds slow-header (slowloris) clients."""
CLOSE_TIMEOUT_SECONDS = 3.0
"""How long we wait for a client to answer our close frame before dropping the TCP connection."""
SHUTDOWN_TIMEOUT_SECONDS = 15.0
"""Upper bound on a graceful stop: in-flight requests get the runner's grace period, then we exit anyway."""


def _response(status: http.HTTPStatus, body: bytes = b"", extra: dict[str, str] | None = None) -> Response:
    headers = Headers()
    if body:
        headers["Content-Type"] = "text/plain; charset=utf-8"
    headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close"
    headers["Date"] = email.utils.formatdate(usegmt=True)
    for name, value in (extra or {}).items():
        headers[name] = value
    return Response(status.value, status.phrase, headers, body)


def _is_upgrade(headers: Headers) -> bool:
    tokens = (token.strip().lower() for value in headers.get_all("Connection") for token in value.split(","))
    return "upgrade" in tokens


class HandshakeGate:
    """`process_request` for websockets: answers everything that must not become a websocket."""

    def __init__(self, authenticator: ws_auth.Authenticator | None) -> None:
        self.authenticator = authenticator

    def __call__(self, _connection: ServerConnection, request: Request) -> Response | None:
        headers = request.headers
        if "Origin" in headers:
            return _response(http.HTTPStatus.FORBIDDEN)
        path = request.path.partition("?")[0]
        if path in HEALTH_PATHS:
            # Older websockets releases (the floor is 13) had no Request.method and refused non-GET themselves.
            if getattr(request, "method", "GET") not in HEALTH_METHODS:
                return _response(http.HTTPStatus.METHOD_NOT_ALLOWED, extra={"Allow": "GET,HEAD"})
            return _response(http.HTTPStatus.OK)
        if not _is_upgrade(headers):
            return _response(http.HTTPStatus.BAD_REQUEST, NOT_AN_UPGRADE)
        if self.authenticator is not None:
            refusal = ws_auth.check(self.authenticator, headers.get_all("Authorization"))
            if refusal is not None:
                return _response(http.HTTPStatus.UNAUTHORIZED, refusal.encode())
        return None


async def _text_frames(websocket: ServerConnection) -> AsyncIterator[str]:
    """Incoming text frames until the connection closes, however it closes; binary frames are dropped."""
    try:
        while True:
            message = await websocket.recv()
            if isinstance(message, str):
                yield message
    except ConnectionClosed:
        return


class WebSocketServer:
    """Accepts websocket clients and runs each one as an independent JSON-RPC connection."""

    def __init__(
        self, context: ServerContext, authenticator: ws_auth.Authenticator | None, *, max_in_flight: int
    ) -> None:
        self.context = context
        self.gate = HandshakeGate(authenticator)
        self.max_in_flight = max_in_flight
        self._info = ServerInfo(codex_home=context.codex_home)

    async def serve_connection(self, websocket: ServerConnection) -> None:
        connection = Connection(self._info, load_method_table, max_in_flight=self.max_in_flight)

        async def send(batch: list[bytes]) -> None:
            try:
                for message in batch:
                    await websocket.send(message, text=True)  # already UTF-8: one text frame each
            except ConnectionClosed as exc:
                raise ConnectionError(f"websocket closed ({exc})") from exc

        await ConnectionRunner(self.context, connection, send).run(_text_frames(websocket))

    async def listen(self, address: ListenAddress) -> Server:
        """Bind and start accepting; raises OSError (e.g. address in use) before anything is announced."""
        return await serve(
            self.serve_connection,
            address.host,
            address.port,
            process_request=self.gate,
            compression=None,
            max_size=MAX_MESSAGE_BYTES,
            server_header=None,
            open_timeout=HANDSHAKE_TIMEOUT_SECONDS,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            backlog=LISTEN_BACKLOG,
        )


def bound_address(server: Server) -> ListenAddress:
    host, port = server.sockets[0].getsockname()[:2]
    return ListenAddress(host, port)


async def run(
    context: ServerContext,
    address: ListenAddress,
    authenticator: ws_auth.Authenticator | None,
    *,
    max_in_flight: int,
    announce: Callable[[ListenAddress], None],
) -> None:
    """Serve until SIGINT or SIGTERM, then stop accepting, send close frames and return (exit status 0)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = await WebSocketServer(context, authenticator, max_in_flight=max_in_flight).listen(address)
    announce(bound_address(server))
    await stop.wait()
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), SHUTDOWN_TIMEOUT_SECONDS)
    except TimeoutError:
        log(f"stopped waiting for {len(server.connections)} connection(s) to close")
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError):
            loop.remove_signal_handler(signum)
