"""Remote plugin state (the ChatGPT backend's plugin service), for `forceRemoteSync`.

With `forceRemoteSync: true` the remote state is changed first and the local change only follows a
successful answer, so a failure leaves both sides as they were instead of a local install the backend
does not know about. The base URL is `chatgpt_base_url` from config, so tests point it at a loopback
stand-in (fixtures/plugin_backend.py) and users at the real service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from server.protocol.errors import InternalError

TIMEOUT_SECONDS = 30
Action = Literal["install", "uninstall"]


def auth_headers(codex_home: Path) -> dict[str, str]:
    """ChatGPT credentials from auth.json when present; the backend decides whether it needs them."""
    try:
        tokens = json.loads((codex_home / "auth.json").read_text(encoding="utf-8")).get("tokens") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    headers = {}
    if isinstance(tokens.get("access_token"), str):
        headers["Authorization"] = f"Bearer {tokens['access_token']}"
    if isinstance(tokens.get("account_id"), str):
        headers["chatgpt-account-id"] = tokens["account_id"]
    return headers


def sync(base_url: str, codex_home: Path, plugin_id: str, action: Action) -> None:
    """POST `{base}/ps/plugins/{id}/{action}`; any failure is an InternalError naming the request."""
    import requests  # only here: loading it costs every server ~0.2 s and most never sync plugins

    url = f"{base_url.rstrip('/')}/ps/plugins/{quote(plugin_id, safe='@~')}/{action}"
    try:
        response = requests.post(url, json={}, headers=auth_headers(codex_home), timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise InternalError(f"{action} remote plugin: remote plugin catalog request to {url} failed: {exc}") from None
    if not response.ok:
        raise InternalError(
            f"{action} remote plugin: remote plugin catalog request to {url} failed with status "
            f"{response.status_code} {response.reason}: {response.text}"
        )
