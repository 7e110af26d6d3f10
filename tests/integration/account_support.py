"""Helpers for the account suites: servers wired to one loopback issuer, and "being the browser".

Both servers read the issuer from `CODEX_APP_SERVER_LOGIN_ISSUER` and refresh at
`CODEX_REFRESH_TOKEN_URL_OVERRIDE`, and upstream needs `chatgpt_base_url` for its post-login workspace check,
so one stand-in serves either. Upstream's browser callback always binds 127.0.0.1:1455 (fallback 1457), so
tests that drive upstream's browser flow hold a machine-wide lock on that port; ours takes any free port
through `CODEX_APP_SERVER_LOGIN_CALLBACK_PORT=0` and needs no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.sync import Client
from fixtures.auth_issuer import AuthIssuer

TIMEOUT = 20.0
UPSTREAM_CALLBACK_LOCK = Path("/tmp/codex-app-tools-login-1455.lock")  # shared by every xdist worker


def start(
    factory: AppServerFactory,
    issuer: AuthIssuer,
    *,
    config: str = "",
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Client:
    """A server pointed at `issuer` (both kinds), with an ephemeral callback port (ours)."""
    server_env = {**issuer.server_env(), "CODEX_APP_SERVER_LOGIN_CALLBACK_PORT": "0", **(env or {})}
    return factory(env=server_env, config_toml=issuer.config_toml() + config, **kwargs)


@contextlib.contextmanager
def callback_port_guard(kind: str) -> Iterator[None]:
    """Serialise upstream browser logins across pytest-xdist workers (they all want port 1455)."""
    if kind == "python":
        yield
        return
    with UPSTREAM_CALLBACK_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def sign_in(auth_url: str) -> requests.Response:
    """What the user's browser does: open the authorize URL and follow redirects back to the callback."""
    return requests.get(auth_url, timeout=TIMEOUT)


def device_login(client: Client) -> dict[str, Any]:
    """Start a device-code login and wait for its completion; returns the completion params."""
    started = client.request("account/login/start", {"type": "chatgptDeviceCode"})
    return client.wait_for("account/login/completed", loginId=started["loginId"], timeout=TIMEOUT)


def signed_in(factory: AppServerFactory, issuer: AuthIssuer) -> Client:
    """A server logged in with ChatGPT through the device flow (both servers, no browser needed)."""
    client = start(factory, issuer)
    assert device_login(client)["success"] is True
    return client


def auth_json(client: Client) -> dict[str, Any]:
    assert client.codex_home is not None
    loaded: dict[str, Any] = json.loads((client.codex_home / "auth.json").read_text())
    return loaded


def auth_mode_bits(client: Client) -> int:
    assert client.codex_home is not None
    return stat.S_IMODE((client.codex_home / "auth.json").stat().st_mode)
