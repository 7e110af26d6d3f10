"""`$CODEX_HOME/auth.json`: read, written atomically with mode 0600, removed on logout.

The format is upstream's, byte for byte where it matters (pretty-printed with two spaces, keys in upstream's
order, absent optionals omitted), so one codex home works with either server:

    {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-..."}
    {"auth_mode": "chatgpt", "OPENAI_API_KEY": null,
     "tokens": {"id_token", "access_token", "refresh_token", "account_id"}, "last_refresh": "<RFC 3339, ns>"}

Fields we do not know are kept as read and written back, so a newer codex's additions survive our rewrite.
A file that exists but cannot be parsed is an error, never "logged out": treating it as absent would let the
next login silently replace credentials the user may still need.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_app_tools import atomic
from server.protocol.errors import InternalError, os_error

FILE_NAME = "auth.json"
FILE_MODE = 0o600


class AuthFileError(InternalError):
    """auth.json exists but is unreadable or malformed; the message names the file and what is wrong.

    Upstream reads such a file as "logged out"; we answer -32603 with this message instead (see the module
    docstring), so it is an internal error on the wire.
    """


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    account_id: str | None = None


@dataclass(frozen=True)
class AuthDotJson:
    """One parsed auth.json. Value equality is what keys the refresh poison to "this exact snapshot"."""

    auth_mode: str | None = None
    api_key: str | None = None
    tokens: Tokens | None = None
    last_refresh: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())
    """Unknown top-level fields, as (name, JSON text) pairs so the dataclass stays hashable and comparable."""

    @property
    def mode(self) -> str | None:
        """ "apikey" or "chatgpt", inferring from content like upstream when `auth_mode` is absent."""
        if self.auth_mode is not None:
            return self.auth_mode
        if self.api_key is not None:
            return "apikey"
        if self.tokens is not None:
            return "chatgpt"
        return None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.auth_mode is not None:
            data["auth_mode"] = self.auth_mode
        data["OPENAI_API_KEY"] = self.api_key
        if self.tokens is not None:
            tokens = {
                "id_token": self.tokens.id_token,
                "access_token": self.tokens.access_token,
                "refresh_token": self.tokens.refresh_token,
            }
            if self.tokens.account_id is not None:
                tokens["account_id"] = self.tokens.account_id
            data["tokens"] = tokens
        if self.last_refresh is not None:
            data["last_refresh"] = self.last_refresh
        for name, text in self.extra:
            data[name] = json.loads(text)
        return data


KNOWN_FIELDS = frozenset({"auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"})


def api_key_auth(api_key: str) -> AuthDotJson:
    return AuthDotJson(auth_mode="apikey", api_key=api_key)


def chatgpt_auth(tokens: Tokens) -> AuthDotJson:
    return AuthDotJson(auth_mode="chatgpt", tokens=tokens, last_refresh=rfc3339_now())


def rfc3339_now() -> str:
    """UTC with nanoseconds and `Z`, the way upstream writes `last_refresh`."""
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def path_in(codex_home: Path) -> Path:
    return codex_home / FILE_NAME


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    return value


def parse(text: str) -> AuthDotJson:
    """Raises ValueError with a short reason (never quoting values: they are secrets)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    mode, api_key, raw_tokens, last_refresh = (
        data.get(key) for key in ("auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh")
    )
    if mode is not None and mode not in ("apikey", "chatgpt"):
        raise ValueError('auth_mode must be "apikey" or "chatgpt"')
    if api_key is not None:
        _string(api_key, "OPENAI_API_KEY")
    tokens = None
    if raw_tokens is not None:
        if not isinstance(raw_tokens, dict):
            raise ValueError("tokens must be an object")
        account = raw_tokens.get("account_id")
        tokens = Tokens(
            id_token=_string(raw_tokens.get("id_token"), "tokens.id_token"),
            access_token=_string(raw_tokens.get("access_token"), "tokens.access_token"),
            refresh_token=_string(raw_tokens.get("refresh_token"), "tokens.refresh_token"),
            account_id=None if account is None else _string(account, "tokens.account_id"),
        )
    if last_refresh is not None:
        _string(last_refresh, "last_refresh")
    extra = tuple((key, json.dumps(value)) for key, value in data.items() if key not in KNOWN_FIELDS)
    return AuthDotJson(mode, api_key, tokens, last_refresh, extra)


def read(codex_home: Path) -> AuthDotJson | None:
    """The stored auth, None when there is no file; AuthFileError when there is one we cannot use."""
    path = path_in(codex_home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuthFileError(f"cannot read {path}: {os_error(exc).message}") from None
    except UnicodeDecodeError as exc:
        raise AuthFileError(f"cannot read {path}: {exc}") from None
    try:
        return parse(text)
    except json.JSONDecodeError as exc:
        raise AuthFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:
        raise AuthFileError(f"{path} is not a valid auth file: {exc}") from None


def fingerprint(codex_home: Path) -> tuple[int, int, int, int] | None:
    """Cheap identity of the file on disk (inode, size, mtime, ctime): changes whenever anyone rewrites it."""
    try:
        st = os.stat(path_in(codex_home))
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def write(codex_home: Path, auth: AuthDotJson) -> None:
    """Replace auth.json atomically, 0600 from creation (`codex_app_tools.atomic`).

    A reader or a crash sees the old file or the new one, never a mix; the secret is never world-readable,
    and a process killed mid-write leaves no named temporary file holding it (O_TMPFILE where Linux has
    it; elsewhere `sweep_orphans` removes what a kill left). The data is fsynced before the rename; the
    directory is not, which only means a power cut right after a login may bring back the previous, still
    complete, file. That fsync would double the cost of a login for no gain in consistency.
    """
    codex_home.mkdir(parents=True, exist_ok=True)
    data = json.dumps(auth.to_json(), indent=2).encode("utf-8")
    atomic.atomic_write(path_in(codex_home), data, mode=FILE_MODE, durable=False)


def sweep_orphans(codex_home: Path) -> int:
    """Remove temporary auth files interrupted writes left behind (they may hold a secret); returns how many.

    Covers the temporary names of `codex_app_tools.atomic` and of the `tempfile.mkstemp` scheme earlier
    versions used (`.auth.json.<random>.tmp`, the same pattern). Call it only when this process is not
    writing auth.json: at startup, and on logout under the auth manager's lock.
    """
    return atomic.sweep_orphans(path_in(codex_home))


def remove(codex_home: Path) -> bool:
    """Delete auth.json and any orphaned temporary copy of it; True if there was an auth.json."""
    sweep_orphans(codex_home)
    try:
        os.unlink(path_in(codex_home))
    except FileNotFoundError:
        return False
    return True
