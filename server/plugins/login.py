"""The ChatGPT login the backend's plugin service needs, read from the stored auth.

In a module of its own, importing only the auth file reader: the startup sync (server.plugins.startup)
checks it first on every server, and most have no login, so they never load the catalog client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.auth import storage
from server.auth.storage import AuthFileError

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Credentials:
    access_token: str
    account_id: str | None

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        if self.account_id:
            headers["chatgpt-account-id"] = self.account_id
        return headers


def credentials(codex_home: Path) -> Credentials | None:
    """The ChatGPT login stored in auth.json, or None (logged out, API key, unreadable file)."""
    try:
        auth = storage.read(codex_home)
    except (AuthFileError, OSError):
        return None
    if auth is None or auth.mode != "chatgpt" or auth.tokens is None:
        return None
    return Credentials(auth.tokens.access_token, auth.tokens.account_id)
