"""Login flows in-process: device polling intervals (without waiting them out), callback port fallback, endpoints."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fixtures.auth_issuer import AuthIssuer
from server.auth import browser
from server.auth import issuer as issuer_client
from server.auth.browser import BrowserLogin
from server.auth.device import DeviceLogin
from server.auth.endpoints import CALLBACK_PORTS, DEFAULT_ISSUER, login_endpoints
from server.auth.manager import AuthManager
from server.session import ServerContext


class RecordingSession:
    """The one thing a login needs from a session: somewhere to send notifications."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def notify(self, method: str, params: Any) -> None:
        self.sent.append((method, params))


@pytest.fixture
def issuer() -> Iterator[AuthIssuer]:
    with AuthIssuer() as running:
        yield running


def login_parts(tmp_path: Path, issuer: AuthIssuer, **env: str) -> tuple[RecordingSession, AuthManager, Any]:
    server = ServerContext(codex_home=tmp_path, environ={**issuer.server_env(), **env})
    manager = AuthManager(server)
    return RecordingSession(), manager, manager.endpoints()


def test_device_polling_honours_interval_and_slow_down(
    tmp_path: Path, issuer: AuthIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer.state.interval, issuer.state.slow_down_polls, issuer.state.pending_polls = "2", 2, 1
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(DeviceLogin, "_sleep", staticmethod(fake_sleep))
    session, manager, endpoints = login_parts(tmp_path, issuer)

    async def scenario() -> None:
        login = DeviceLogin(session, manager, endpoints, "id-1")  # type: ignore[arg-type]
        await login.start()
        while len(session.sent) < 2:  # bounded by the wait_for below
            await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(scenario(), 20))
    assert slept == [7.0, 12.0, 12.0]  # RFC 8628 3.5: +5 s per slow_down, kept for later polls
    assert session.sent[0] == (
        "account/login/completed",
        {"loginId": "id-1", "success": True, "error": None, "onboardingEntrypoint": None},
    )
    assert session.sent[1] == ("account/updated", {"authMode": "chatgpt", "planType": "plus"})
    assert manager.current() is not None


def test_busy_callback_port_is_asked_to_cancel_then_the_next_port_is_used(
    tmp_path: Path, issuer: AuthIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "BIND_RETRY_SECONDS", 0.01)
    holder = socket.create_server(("127.0.0.1", 0))
    busy = holder.getsockname()[1]
    seen: list[bytes] = []

    def hold() -> None:
        connection, _ = holder.accept()
        with connection:
            seen.append(connection.recv(1024))
            connection.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    session, manager, endpoints = login_parts(tmp_path, issuer)

    async def scenario() -> str:
        login = BrowserLogin(session, manager, replace(endpoints, callback_ports=(busy, 0)), "id-2")  # type: ignore[arg-type]
        url = await login.start("test")
        redirect = login.redirect_uri
        await login.cancel()
        await asyncio.sleep(0)
        return f"{url} {redirect}"

    try:
        url, redirect = asyncio.run(asyncio.wait_for(scenario(), 20)).split(" ")
    finally:
        holder.close()
    thread.join(5)
    assert seen
    assert seen[0].startswith(b"GET /cancel ")
    assert f":{busy}/" not in redirect
    assert url.startswith(f"{issuer.url}/oauth/authorize?")
    assert session.sent[0][1]["error"] == "Login server error: Login was not completed"


def test_endpoints_follow_upstream_variables() -> None:
    assert login_endpoints({}).issuer == DEFAULT_ISSUER
    assert login_endpoints({}).callback_ports == CALLBACK_PORTS
    trailing = login_endpoints({"CODEX_APP_SERVER_LOGIN_ISSUER": "http://127.0.0.1:7/"})
    assert trailing.issuer == "http://127.0.0.1:7"
    assert trailing.refresh_url == "http://127.0.0.1:7/oauth/token"
    env = {
        "CODEX_APP_SERVER_LOGIN_ISSUER": "http://127.0.0.1:8",
        "CODEX_APP_SERVER_LOGIN_CLIENT_ID": "client-x",
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE": "http://127.0.0.1:9/token",
        "CODEX_APP_SERVER_LOGIN_CALLBACK_PORT": "0",
    }
    overridden = login_endpoints(env)
    assert overridden.issuer == "http://127.0.0.1:8"
    assert overridden.client_id == "client-x"
    assert overridden.refresh_url == "http://127.0.0.1:9/token"
    assert overridden.callback_ports == (0,)
    assert overridden.device_verification_url == "http://127.0.0.1:8/codex/device"


def test_the_stand_in_checks_pkce_so_the_browser_tests_mean_something(issuer: AuthIssuer) -> None:
    endpoints = login_endpoints(issuer.server_env())
    verifier, challenge = browser.pkce_pair()
    query = {
        "response_type": "code",
        "client_id": endpoints.client_id,
        "redirect_uri": "http://127.0.0.1:9/auth/callback",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    redirect = requests.get(endpoints.authorize_url, params=query, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    with pytest.raises(issuer_client.IssuerError, match="400 Bad Request: invalid_grant"):
        issuer_client.exchange_code(endpoints, code, verifier + "x", query["redirect_uri"])
    assert issuer.state.issued_access_tokens == []


def test_login_issuer_config_key_applies_unless_the_environment_overrides_it() -> None:
    from server.config import Config

    config = Config({"login_issuer": "http://127.0.0.1:9/issuer/"})
    assert login_endpoints({}, config).issuer == "http://127.0.0.1:9/issuer"
    assert (
        login_endpoints({"CODEX_APP_SERVER_LOGIN_ISSUER": "http://127.0.0.1:8"}, config).issuer == "http://127.0.0.1:8"
    )
