"""Where the login issuer lives, resolved from the environment.

The environment variables are upstream's, so one loopback stand-in serves both servers in a test:
`CODEX_APP_SERVER_LOGIN_ISSUER` (issuer base URL), `CODEX_APP_SERVER_LOGIN_CLIENT_ID` (OAuth client id),
`CODEX_REFRESH_TOKEN_URL_OVERRIDE` (full token URL for refresh grants). There is no config key for the
issuer: upstream has none, and the config resolver reports keys upstream does not know as ignored. Unlike
upstream, the refresh URL defaults to the configured issuer's token endpoint rather than the production one:
refresh tokens are only valid at the issuer that minted them.

`CODEX_APP_SERVER_LOGIN_CALLBACK_PORT` is ours: the browser flow's loopback port (0 = any free port). The
real issuer only accepts its registered redirect URIs (ports 1455, then 1457), so it exists for tests that
run many servers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_ISSUER = "https://auth.openai.com"
DEFAULT_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
CALLBACK_PORTS = (1455, 1457)
"""The redirect ports registered with the real issuer: the default, then the fallback when it is taken."""


@dataclass(frozen=True)
class LoginEndpoints:
    issuer: str
    client_id: str
    refresh_url: str
    callback_ports: tuple[int, ...]

    @property
    def authorize_url(self) -> str:
        return f"{self.issuer}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/oauth/token"

    @property
    def device_code_url(self) -> str:
        return f"{self.issuer}/api/accounts/deviceauth/usercode"

    @property
    def device_token_url(self) -> str:
        return f"{self.issuer}/api/accounts/deviceauth/token"

    @property
    def device_verification_url(self) -> str:
        return f"{self.issuer}/codex/device"

    @property
    def device_redirect_uri(self) -> str:
        return f"{self.issuer}/deviceauth/callback"


def login_endpoints(environ: Mapping[str, str], config: Any = None) -> LoginEndpoints:
    """The environment variable wins (as upstream reads it), then our `login_issuer` config key."""
    configured = config.get("login_issuer") if config is not None else None
    issuer = (
        environ.get("CODEX_APP_SERVER_LOGIN_ISSUER")
        or (configured if isinstance(configured, str) else None)
        or DEFAULT_ISSUER
    ).rstrip("/")
    port = environ.get("CODEX_APP_SERVER_LOGIN_CALLBACK_PORT")
    ports: tuple[int, ...] = CALLBACK_PORTS
    if port:
        try:
            ports = (int(port),)
        except ValueError:
            print(f"app-server: ignoring CODEX_APP_SERVER_LOGIN_CALLBACK_PORT={port!r}: not a port", file=sys.stderr)
    return LoginEndpoints(
        issuer=issuer,
        client_id=environ.get("CODEX_APP_SERVER_LOGIN_CLIENT_ID") or DEFAULT_CLIENT_ID,
        refresh_url=environ.get("CODEX_REFRESH_TOKEN_URL_OVERRIDE") or f"{issuer}/oauth/token",
        callback_ports=ports,
    )
