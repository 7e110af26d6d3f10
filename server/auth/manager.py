"""The per-process view of the stored auth, and the refresh that fails fast once it cannot succeed.

The snapshot is reloaded whenever auth.json changes on disk (a stat per read, no parsing otherwise), so
another process's login is seen at once. A *permanent* refresh failure (refresh token expired, reused,
revoked) poisons the snapshot it happened on: later refreshes of that same snapshot fail immediately without
a network call, and the access token is no longer handed out. Clients poll `account/read {refreshToken}`;
without the poison every poll would be another doomed request to the issuer. The poison is keyed by the
snapshot's value, so any real change (login, logout, a different file on disk) clears it by construction.
Transient failures (5xx, timeouts, no network) do not poison: the next attempt may well succeed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from typing import Literal

from server.auth import claims, issuer, storage
from server.auth.endpoints import LoginEndpoints, login_endpoints
from server.auth.storage import AuthDotJson, AuthFileError, Tokens
from server.config import effective_config
from server.context import ServerContext
from server.protocol.errors import InternalError, InvalidRequest, os_error

_UNREAD = object()

CHATGPT_DISABLED = "ChatGPT login is disabled. Use API key login instead."
API_KEY_DISABLED = "API key login is disabled. Use ChatGPT login instead."


class LoginMethodDisabled(InvalidRequest):
    """`forced_login_method` in the config rules this kind of login out (upstream: -32600, its message)."""


class ApiKeySaveError(InternalError):
    """An API-key login whose key could not be stored (upstream: -32603, "failed to save api key: ...")."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"failed to save api key: {detail}")


class LogoutError(InternalError):
    """A logout that could not remove auth.json (upstream: -32603, "logout failed: ...")."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"logout failed: {detail}")


def log(message: str) -> None:
    """One line on stderr. Callers pass messages built from codes and statuses, never token values."""
    print(f"app-server: auth: {message}", file=sys.stderr, flush=True)


class AuthManager:
    """One per server process (`ServerContext.shared(AuthManager, AuthManager)`)."""

    def __init__(self, server: ServerContext) -> None:
        self.server = server
        self.codex_home = server.codex_home
        self._snapshot: AuthDotJson | None = None
        self._fingerprint: object = _UNREAD
        self._poisoned: AuthDotJson | None = None
        self._poison_message = issuer.REFRESH_FAILED
        self._refresh_lock = asyncio.Lock()
        self._changes = asyncio.Lock()

    def endpoints(self) -> LoginEndpoints:
        return login_endpoints(self.server.environ, effective_config(self.server))

    def check_login_allowed(self, method: Literal["api", "chatgpt"]) -> None:
        """Raise LoginMethodDisabled when the config's `forced_login_method` names the other method."""
        forced = effective_config(self.server).get("forced_login_method")
        if forced == "api" and method == "chatgpt":
            raise LoginMethodDisabled(CHATGPT_DISABLED)
        if forced == "chatgpt" and method == "api":
            raise LoginMethodDisabled(API_KEY_DISABLED)

    # -- reading ---------------------------------------------------------------------------------------------

    def current(self) -> AuthDotJson | None:
        """The stored auth (None when logged out). Raises AuthFileError for a file we cannot use."""
        fingerprint = storage.fingerprint(self.codex_home)
        if fingerprint != self._fingerprint or fingerprint is None:
            self._snapshot = storage.read(self.codex_home)
            self._fingerprint = fingerprint
        return self._snapshot

    def is_poisoned(self, auth: AuthDotJson | None) -> bool:
        return auth is not None and auth == self._poisoned

    def bearer_token(self) -> str | None:
        """What `getAuthStatus {includeToken}` hands out: the API key, or the access token unless poisoned."""
        auth = self.current()
        if auth is None:
            return None
        if auth.mode == "apikey":
            return auth.api_key
        if auth.tokens is None or self.is_poisoned(auth):
            return None
        return auth.tokens.access_token

    # -- changing --------------------------------------------------------------------------------------------
    #
    # Every change of the stored auth (login, logout, a refresh's new tokens) runs under `_changes`, one
    # lock for the whole process. asyncio.Lock wakes its waiters first come, first served, and each request
    # handler reaches `store` or `logout` before its first await; since the connection runner starts the
    # handlers in the order their requests arrived, changes apply in request order (a pipelined
    # `login; logout` ends logged out), where two threads racing on the file would not. Whoever holds the
    # lock also decides what the client is told, so replies and `account/updated` follow the same order.

    async def store(self, auth: AuthDotJson) -> None:
        """Persist a new auth (login or refresh). Refuses to replace a file we could not read."""
        async with self._changes:
            await asyncio.to_thread(self._store_blocking, auth)

    def _store_blocking(self, auth: AuthDotJson) -> None:
        try:
            self.current()
        except AuthFileError as exc:
            raise AuthFileError(f"{exc}; not replacing it: fix it, or log out to remove it") from None
        storage.write(self.codex_home, auth)
        self._snapshot, self._fingerprint = auth, storage.fingerprint(self.codex_home)

    async def store_api_key(self, api_key: str) -> None:
        """Persist an API-key login; raises ApiKeySaveError, worded as upstream words it."""
        try:
            await self.store(storage.api_key_auth(api_key))
        except AuthFileError as exc:
            raise ApiKeySaveError(exc.message) from None
        except OSError as exc:
            raise ApiKeySaveError(os_error(exc).message) from None

    async def store_chatgpt(self, tokens: issuer.TokenResponse) -> AuthDotJson:
        """Persist the tokens of a completed ChatGPT login."""
        if tokens.id_token is None or tokens.access_token is None or tokens.refresh_token is None:
            raise issuer.IssuerError("the token response is missing a token")
        account_id = claims.identity(tokens.id_token).account_id
        auth = storage.chatgpt_auth(Tokens(tokens.id_token, tokens.access_token, tokens.refresh_token, account_id))
        await self.store(auth)
        return auth

    async def logout(self) -> None:
        """Remove auth.json, and any temporary copy of it a killed writer left (it may hold the secret)."""
        async with self._changes:
            try:
                await asyncio.to_thread(storage.remove, self.codex_home)
            except OSError as exc:
                raise LogoutError(os_error(exc).message) from None
            self._snapshot, self._fingerprint = None, None

    async def _store_unless_changed(self, expected: AuthDotJson, updated: AuthDotJson) -> AuthDotJson | None:
        """Store `updated` if the stored auth is still `expected`; otherwise keep what is there and return it."""
        async with self._changes:
            if self.current() != expected:
                log("skipping the refreshed tokens: auth changed while refreshing")
                return self.current()
            await asyncio.to_thread(self._store_blocking, updated)
            return updated

    # -- refreshing ------------------------------------------------------------------------------------------

    async def refresh(self) -> AuthDotJson | None:
        """Refresh ChatGPT tokens now. Raises issuer.RefreshError; permanent failures poison the snapshot."""
        async with self._refresh_lock:
            auth = self.current()
            if auth is None or auth.mode != "chatgpt" or auth.tokens is None:
                return auth
            if self.is_poisoned(auth):
                raise issuer.RefreshError(self._poison_message, permanent=True, cached=True)
            try:
                fresh = await asyncio.to_thread(issuer.refresh, self.endpoints(), auth.tokens.refresh_token)
            except issuer.RefreshError as exc:
                if exc.permanent:
                    self._poisoned, self._poison_message = auth, str(exc)
                raise
            tokens = Tokens(
                id_token=fresh.id_token or auth.tokens.id_token,
                access_token=fresh.access_token or auth.tokens.access_token,
                refresh_token=fresh.refresh_token or auth.tokens.refresh_token,
                account_id=auth.tokens.account_id,
            )
            updated = dataclasses.replace(auth, tokens=tokens, last_refresh=storage.rfc3339_now())
            return await self._store_unless_changed(auth, updated)


def auth_manager(server: ServerContext) -> AuthManager:
    return server.shared(AuthManager, AuthManager)
