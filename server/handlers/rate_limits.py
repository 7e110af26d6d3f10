"""account/rateLimits/read: a thin adapter between the wire and server.usage.rate_limits."""

from __future__ import annotations

from typing import Any

from server.auth.manager import auth_manager
from server.auth.storage import AuthFileError
from server.config import effective_config
from server.config.base_urls import chatgpt_base_url
from server.handlers.registry import method
from server.protocol.errors import InvalidRequest
from server.protocol.rate_limits import GetAccountRateLimitsParams
from server.session import Session
from server.usage import rate_limits


def _login(session: Session) -> rate_limits.Login:
    try:
        auth = auth_manager(session.server).current()
    except AuthFileError:
        auth = None
    if auth is None:
        raise InvalidRequest(rate_limits.AUTH_REQUIRED)
    if auth.mode != "chatgpt" or auth.tokens is None:
        raise InvalidRequest(rate_limits.CHATGPT_REQUIRED)
    return rate_limits.Login(auth.tokens.access_token, auth.tokens.account_id)


@method("account/rateLimits/read", GetAccountRateLimitsParams)
async def read_rate_limits(session: Session, params: GetAccountRateLimitsParams | None) -> dict[str, Any]:
    login = _login(session)
    details = not (params is not None and params.exclude_reset_credit_details)
    base_url = chatgpt_base_url(effective_config(session.server))
    return await rate_limits.read(base_url, login, reset_credit_details=details)
