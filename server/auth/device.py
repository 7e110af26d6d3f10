"""Device-code login (RFC 8628 as the ChatGPT issuer implements it).

`start()` asks the issuer for a user code and returns at once; a background task polls the token endpoint
until the user approves on `{issuer}/codex/device`, then exchanges the authorization code (with the verifier
the issuer hands back) like any authorization-code login. Polling honours the interval, and the RFC 8628 3.5
answers: `authorization_pending` (also a bare 403/404, which is how the issuer says "pending"), `slow_down`
(+5 s for this and every later poll), `expired_token` and `access_denied`. Anything else is terminal and
reported with its status, worded like upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from server.auth import issuer
from server.auth.logins import Login
from server.auth.manager import log

T = TypeVar("T")

MAX_WAIT_SECONDS = 15 * 60
"""Upstream gives up after 15 minutes, longer than any device code lives; an `expires_in` may shorten it."""
MIN_INTERVAL_SECONDS = 0.05
"""Floor under the issuer's interval, so `"interval": "0"` cannot turn the poller into a busy loop."""
SLOW_DOWN_SECONDS = 5.0
"""RFC 8628 3.5: on `slow_down` the interval grows by 5 seconds, for this and all later requests."""
PENDING_STATUSES = (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND)

TERMINAL_ERRORS = {
    "expired_token": "device code expired before it was approved; start the login again",
    "access_denied": "device authorization was denied",
}


IN_FLIGHT_GRACE_SECONDS = 2.0
"""On cancel, how long an issuer call already in flight may finish before the poller is abandoned.

A call runs in a worker thread, which cannot be interrupted: cancelling the task at once would let that
request reach the issuer after the client was told the login is over. Waiting for it (it takes
milliseconds against a healthy issuer) keeps "cancelled" meaning "no more requests"; the bound keeps a hung
issuer from holding up `account/login/cancel`.
"""


class DeviceLogin(Login):
    _task: asyncio.Task[None] | None = None
    _in_flight = False
    _sleep = staticmethod(asyncio.sleep)
    """Between polls; a seam so tests can read the intervals without waiting them out."""

    async def start(self) -> issuer.DeviceCode:
        """Raises issuer.DeviceCodeDisabled / IssuerError before anything runs in the background."""
        code = await asyncio.to_thread(issuer.request_device_code, self.endpoints)
        self._task = asyncio.create_task(self._poll(code), name=f"device-login-{self.login_id}")
        return code

    async def _poll(self, code: issuer.DeviceCode) -> None:
        limit = min(code.expires_in, MAX_WAIT_SECONDS) if code.expires_in else MAX_WAIT_SECONDS
        deadline = time.monotonic() + limit
        interval = max(code.interval, MIN_INTERVAL_SECONDS)
        try:
            while True:
                poll = await self._call(issuer.poll_device_token, self.endpoints, code)
                if self.finished:
                    return
                if poll.authorization_code is not None and poll.code_verifier is not None:
                    tokens = await self._call(
                        issuer.exchange_code,
                        self.endpoints,
                        poll.authorization_code,
                        poll.code_verifier,
                        self.endpoints.device_redirect_uri,
                    )
                    await self.succeed(tokens)
                    return
                if poll.error in TERMINAL_ERRORS:
                    await self.fail(TERMINAL_ERRORS[poll.error])
                    return
                if poll.error == "slow_down":
                    interval += SLOW_DOWN_SECONDS
                elif poll.status not in PENDING_STATUSES and poll.error != "authorization_pending":
                    await self.fail(f"device auth failed with status {issuer.status_text(poll.status)}")
                    return
                if time.monotonic() + interval > deadline:
                    await self.fail(f"device auth timed out after {round(limit / 60)} minutes")
                    return
                await self._sleep(interval)
        except issuer.IssuerError as exc:
            log(f"device login {self.login_id} failed: {exc}")
            await self.fail(str(exc))
        except Exception as exc:  # the client must hear how the login ended, whatever went wrong
            log(f"device login {self.login_id} failed unexpectedly: {type(exc).__name__}")
            await self.fail(f"device login failed: internal error ({type(exc).__name__})")

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """An issuer call in a worker thread, marked in flight so a cancel can let it finish."""
        self._in_flight = True
        try:
            return await asyncio.to_thread(function, *args)
        finally:
            self._in_flight = False

    async def _release(self) -> None:
        task, self._task = self._task, None
        if task is None or task is asyncio.current_task():
            return
        if self._in_flight:
            await asyncio.wait({task}, timeout=IN_FLIGHT_GRACE_SECONDS)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
