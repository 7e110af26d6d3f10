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
from http import HTTPStatus

from server.auth import issuer
from server.auth.logins import Login
from server.auth.manager import log

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


class DeviceLogin(Login):
    _task: asyncio.Task[None] | None = None
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
                poll = await asyncio.to_thread(issuer.poll_device_token, self.endpoints, code)
                if poll.authorization_code is not None and poll.code_verifier is not None:
                    tokens = await asyncio.to_thread(
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

    async def _release(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
