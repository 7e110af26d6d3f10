"""Frame- and HTTP-level helpers for the websocket suites (the harness Client hides both, on purpose)."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from codex_app_harness.pytest_plugin import server_command
from codex_app_harness.transports import default_env
from codex_app_harness.websocket_server import WebSocketServer

TIMEOUT = 10.0
INITIALIZE = {"clientInfo": {"name": "ws-test", "version": "1"}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def handshake(url: str, headers: Mapping[str, str] | list[tuple[str, str]] | None = None) -> tuple[int, bytes]:
    """(101, b"") when the upgrade succeeds, else the refusal's status and body."""
    try:
        with connect(url, additional_headers=headers, open_timeout=TIMEOUT, close_timeout=2):
            return 101, b""
    except InvalidStatus as exc:
        return exc.response.status_code, bytes(exc.response.body or b"")


def http_request(
    server: WebSocketServer, path: str, *, method: str = "GET", headers: Mapping[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """A plain HTTP request (no upgrade): status, body and lower-cased headers."""
    host, port = server.authority.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        connection.request(method, path, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def send(ws: ClientConnection, request_id: int | str, method: str, params: Any) -> None:
    ws.send(json.dumps({"id": request_id, "method": method, "params": params}))


def response_to(ws: ClientConnection, request_id: int | str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The response with this id; notifications and other responses on the way are skipped."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = json.loads(ws.recv(timeout=left))
        if message.get("id") == request_id and "method" not in message:
            result: dict[str, Any] = message
            return result
    raise TimeoutError(f"no response to request {request_id!r} within {timeout}s")


def no_response_to(ws: ClientConnection, request_ids: set[int | str], within: float) -> None:
    """Nothing answers these ids within `within` seconds (the connection stays open meanwhile)."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return
        assert message.get("id") not in request_ids or "method" in message, f"unexpected answer: {message}"


@contextlib.contextmanager
def raw_client(url: str, token: str | None = None) -> Iterator[ClientConnection]:
    """An initialized connection driven frame by frame."""
    with connect(
        url, additional_headers=bearer(token) if token else None, max_size=None, open_timeout=TIMEOUT, close_timeout=2
    ) as ws:
        send(ws, "init", "initialize", INITIALIZE)
        assert "result" in response_to(ws, "init")
        yield ws


def metadata_works(ws: ClientConnection, request_id: int | str) -> bool:
    send(ws, request_id, "fs/getMetadata", {"path": "/"})
    return bool(response_to(ws, request_id)["result"]["isDirectory"])


def closing_of(ws: ClientConnection, timeout: float = TIMEOUT) -> ConnectionClosed:
    """Read until the server ends the connection; messages still queued ahead of the close are skipped."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            ws.recv(timeout=left)
        except ConnectionClosed as closed:
            return closed
    raise TimeoutError(f"the server did not close the connection within {timeout}s")


def run_briefly(kind: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Start a server that is expected to refuse to start; returns its exit status and stderr."""
    home = tmp_path / "codex"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [*server_command(kind), *args],
        env=default_env(home),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
