"""A connection's pending ChatGPT login: at most one, finished exactly once, cancellable by id.

Both flows (browser callback, device code) share this contract, as upstream's do: `account/login/completed`
is sent once per login id, with `success: true` only after the tokens are stored, followed by
`account/updated`. Starting a new login cancels the pending one. A notification emitted while the request
that caused it is still being answered is written after its response by the connection runner.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from server.auth import claims, issuer
from server.auth.endpoints import LoginEndpoints
from server.auth.manager import AuthManager, log
from server.auth.storage import AuthFileError
from server.context import Peer
from server.protocol.errors import wire_error

NOT_COMPLETED = "Login was not completed"


class Login(ABC):
    """One pending login. Subclasses start it and release what they hold in `_release()`."""

    error_prefix = ""
    """Upstream prefixes browser-flow errors with "Login server error: " and device-flow errors with nothing."""
    replaced_message = NOT_COMPLETED
    """Why a login ends when the client starts another one."""

    def __init__(self, session: Peer, manager: AuthManager, endpoints: LoginEndpoints, login_id: str) -> None:
        self.session = session
        self.manager = manager
        self.endpoints = endpoints
        self.login_id = login_id
        self.finished = False

    @abstractmethod
    async def _release(self) -> None:
        """Free the login's resources (callback port, polling task). Called once, when it finishes."""

    async def succeed(self, tokens: issuer.TokenResponse) -> bool:
        """Store the tokens, then report success. A storage failure is reported as the login's failure."""
        if self.finished:
            return False
        self.finished = True
        try:
            auth = await asyncio.shield(self.manager.store_chatgpt(tokens))
        except (AuthFileError, OSError, issuer.IssuerError) as exc:
            detail = wire_error(exc).message
            log(f"login {self.login_id} could not store its credentials: {detail}")
            self._notify_completed(f"Sign-in completed but credentials could not be saved locally: {detail}")
            await self._release()
            return False
        plan = claims.identity(auth.tokens.id_token).plan_type if auth.tokens else None
        self._notify_completed(None)
        self.session.notify("account/updated", {"authMode": "chatgpt", "planType": plan})
        await self._release()
        return True

    async def fail(self, message: str) -> None:
        if self.finished:
            return
        self.finished = True
        self._notify_completed(message)
        await self._release()

    async def cancel(self, message: str = NOT_COMPLETED) -> bool:
        """False if the login already finished (the client gets `notFound`)."""
        if self.finished:
            return False
        await self.fail(message)
        return True

    def _notify_completed(self, error: str | None) -> None:
        params = {
            "loginId": self.login_id,
            "success": error is None,
            "error": None if error is None else f"{self.error_prefix}{error}",
            "onboardingEntrypoint": None,
        }
        self.session.notify("account/login/completed", params)


class Logins:
    """Per connection (`session.scoped(Logins, Logins)`); closing the connection cancels its login."""

    def __init__(self, session: Peer) -> None:
        self._active: Login | None = None

    async def cancel_pending(self) -> None:
        """End the pending login, if any, before a new one starts (it may need the same callback port)."""
        previous, self._active = self._active, None
        if previous is not None:
            await previous.cancel(previous.replaced_message)

    def activate(self, login: Login) -> None:
        """Track a login that started successfully (one that failed to start has nothing to cancel)."""
        self._active = login

    async def cancel(self, login_id: str) -> bool:
        login = self._active
        if login is None or login.login_id != login_id:
            return False
        self._active = None
        return await login.cancel()

    async def aclose(self) -> None:
        login, self._active = self._active, None
        if login is not None:
            await login.cancel()
