"""The websocket transport: banner, health, framing, per-connection state, shutdown, --listen errors.

Runs against ours and upstream with the same flags (protocol notes, section 9 has upstream's measurements).
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.websocket_server import WebSocketServer
from tests.integration.ws_support import (
    INITIALIZE,
    bearer,
    closing_of,
    handshake,
    http_request,
    metadata_works,
    no_response_to,
    raw_client,
    response_to,
    run_briefly,
    send,
)

WsServerFactory = Callable[..., WebSocketServer]


def test_banner_names_the_bound_url_and_health_endpoints(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    authority = server.authority
    assert authority.startswith("127.0.0.1:")
    assert not authority.endswith(":0")
    server.wait_for_stderr("  note: ")
    start = server.stderr.index("codex app-server (WebSockets)")
    assert server.stderr[start : start + 5] == [
        "codex app-server (WebSockets)",
        f"  listening on: ws://{authority}",
        f"  readyz: http://{authority}/readyz",
        f"  healthz: http://{authority}/healthz",
        "  note: binds localhost only (use SSH port-forwarding for remote access)",
    ]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/healthz?probe=1"])
def test_health_endpoints_answer_200_with_an_empty_body(ws_server_factory: WsServerFactory, path: str) -> None:
    server = ws_server_factory()
    status, body, _ = http_request(server, path)
    assert (status, body) == (200, b"")


@pytest.mark.parametrize("path", ["/", "/ws", "/rpc", "/health", "/livez"])
def test_plain_http_on_other_paths_is_400_naming_the_missing_upgrade(
    ws_server_factory: WsServerFactory, path: str
) -> None:
    server = ws_server_factory()
    status, body, headers = http_request(server, path)
    assert (status, body) == (400, b"Connection header did not include 'upgrade'")
    assert headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("path", ["", "/", "/some/other/path"])
def test_any_path_upgrades_and_serves_json_rpc(ws_server_factory: WsServerFactory, path: str) -> None:
    server = ws_server_factory()
    client = server.connect(path=path)
    assert client.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_a_random_bearer_header_is_ignored_when_auth_is_off(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    client = server.connect(token="not-checked-because-auth-is-off")
    assert client.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


@pytest.mark.parametrize("origin", ["http://127.0.0.1", "http://localhost", "https://evil.example", "null"])
def test_any_origin_header_is_refused_403(ws_server_factory: WsServerFactory, origin: str) -> None:
    server = ws_server_factory()
    assert handshake(server.url, {"Origin": origin}) == (403, b"")


def test_each_connection_must_initialize_on_its_own(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    first = server.connect()
    second = server.connect(initialize=False)
    with pytest.raises(RpcResponseError) as excinfo:
        second.request("fs/getMetadata", {"path": "/"})
    assert (excinfo.value.code, excinfo.value.message) == (-32600, "Not initialized")
    assert first.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True
    second.initialize()
    assert second.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_connections_are_served_concurrently_and_independently(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    clients = [server.connect() for _ in range(8)]

    def work(index: int) -> list[bool]:
        return [clients[index].request("fs/getMetadata", {"path": "/"})["isDirectory"] for _ in range(10)]

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(work, range(len(clients))))
    assert results == [[True] * 10] * len(clients)


def test_closing_one_connection_leaves_the_others_working(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    leaving, staying = server.connect(), server.connect()
    leaving.close()
    assert staying.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_binary_frames_are_ignored_and_the_connection_stays_open(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    with raw_client(server.url) as ws:
        ws.send(json.dumps({"id": 1, "method": "fs/getMetadata", "params": {"path": "/"}}).encode())
        no_response_to(ws, {1}, within=0.5)
        assert metadata_works(ws, 2)


@pytest.mark.parametrize("frame", ["not json", "{", "[1,2]", "42", '{"no":"method"}', ""])
def test_malformed_text_frames_are_ignored_and_the_connection_stays_open(
    ws_server_factory: WsServerFactory, frame: str
) -> None:
    server = ws_server_factory()
    with raw_client(server.url) as ws:
        ws.send(frame)
        assert metadata_works(ws, 1)


def test_two_messages_in_one_text_frame_are_ignored(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    with raw_client(server.url) as ws:
        message = {"method": "fs/getMetadata", "params": {"path": "/"}}
        ws.send(json.dumps({"id": 1, **message}) + "\n" + json.dumps({"id": 2, **message}))
        no_response_to(ws, {1, 2}, within=0.5)
        assert metadata_works(ws, 3)


def test_every_response_is_its_own_text_frame(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    with raw_client(server.url) as ws:
        for request_id in range(1, 6):
            send(ws, request_id, "fs/getMetadata", {"path": "/"})
        answered = set()
        while answered != set(range(1, 6)):
            frame = ws.recv(timeout=10)
            assert isinstance(frame, str)
            message = json.loads(frame)  # one JSON value per frame, or this raises
            if "method" not in message:
                answered.add(message["id"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_closes_connections_and_exits_0(
    ws_server_factory: WsServerFactory, app_server_kind: str, signum: int
) -> None:
    server = ws_server_factory()
    with raw_client(server.url) as ws:
        assert server.stop(signum) == 0
        closed = closing_of(ws)
        if app_server_kind == "python":
            # Ours says goodbye with a close frame (1001, going away); upstream 0.163 drops the TCP connection
            # without one, which clients report as an abnormal closure (1006).
            assert closed.rcvd is not None
            assert closed.rcvd.code == 1001


def test_a_stopped_server_accepts_no_new_connections(ws_server_factory: WsServerFactory) -> None:
    server = ws_server_factory()
    server.stop()  # exit status not checked: upstream dies of a SIGTERM that lands right after its banner
    with pytest.raises(OSError):
        handshake(server.url, bearer("x"))


@pytest.mark.parametrize("url", ["ws://localhost:0", "ws://127.0.0.1", "ws://127.0.0.1:99999", "ws://:0"])
def test_a_listen_url_without_an_ip_and_port_is_refused(app_server_kind: str, tmp_path: Path, url: str) -> None:
    done = run_briefly(app_server_kind, tmp_path, "--listen", url)
    assert done.returncode == 2
    assert f"invalid websocket --listen URL `{url}`; expected `ws://IP:PORT`" in done.stderr


def test_an_unsupported_listen_scheme_is_refused(app_server_kind: str, tmp_path: Path) -> None:
    done = run_briefly(app_server_kind, tmp_path, "--listen", "http://127.0.0.1:0")
    assert done.returncode == 2
    assert "unsupported --listen URL `http://127.0.0.1:0`" in done.stderr


def test_a_port_in_use_fails_start_up_with_the_os_error(app_server_kind: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_briefly(app_server_kind, tmp_path, "--listen", f"ws://127.0.0.1:{port}")
    assert done.returncode == 1
    assert "(os error 98)" in done.stderr


def test_the_server_keeps_running_without_stdin(ws_server_factory: WsServerFactory) -> None:
    """A websocket server is often started detached; end of stdin must not stop it."""
    server = ws_server_factory()
    with raw_client(server.url) as ws:
        send(ws, 1, "initialize", INITIALIZE)
        assert response_to(ws, 1)["error"]["message"] == "Already initialized"
    assert server.process.poll() is None
