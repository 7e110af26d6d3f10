"""account/* and the legacy getAuthStatus: thin adapters between the wire and server.auth.

Notifications caused by a request follow its response (upstream's order: response, then
`account/login/completed`, then `account/updated`); the connection runner holds them until it is written.
"""

from __future__ import annotations

import uuid

from server.auth import claims, issuer
from server.auth.browser import BrowserLogin
from server.auth.device import DeviceLogin
from server.auth.logins import Logins
from server.auth.manager import AuthManager, auth_manager, log
from server.auth.storage import AuthDotJson
from server.handlers.registry import method
from server.protocol.account import (
    ApiKeyAccount,
    ApiKeyLogin,
    ApiKeyLoginResponse,
    CancelLoginAccountParams,
    CancelLoginAccountResponse,
    ChatgptAccount,
    ChatgptDeviceCodeLogin,
    ChatgptDeviceCodeLoginResponse,
    ChatgptLogin,
    ChatgptLoginResponse,
    GetAccountParams,
    GetAccountResponse,
    GetAuthStatusParams,
    GetAuthStatusResponse,
    LoginAccountParams,
)
from server.protocol.base import UnitParams
from server.protocol.errors import InvalidRequest
from server.session import Session


def _account(auth: AuthDotJson | None) -> ApiKeyAccount | ChatgptAccount | None:
    if auth is None:
        return None
    if auth.mode == "apikey":
        return ApiKeyAccount()
    if auth.tokens is None:
        return None
    identity = claims.identity(auth.tokens.id_token)
    return ChatgptAccount(email=identity.email, plan_type=identity.plan_type or "unknown")


async def _refresh_quietly(manager: AuthManager) -> None:
    """A failed refresh is logged, not returned: the account is still what it is (upstream does the same)."""
    try:
        await manager.refresh()
    except issuer.RefreshError as exc:
        if not exc.cached:
            log(f"token refresh failed ({'permanent' if exc.permanent else 'transient'}): {exc}")


@method("account/read", GetAccountParams)
async def read_account(session: Session, params: GetAccountParams) -> GetAccountResponse:
    """`refreshToken: true` refreshes ChatGPT tokens now (proactively, as upstream does), failing fast once
    poisoned. The account stays visible after a permanent failure: the user is still who they were."""
    manager = auth_manager(session.server)
    if params.refresh_token:
        await _refresh_quietly(manager)
    return GetAccountResponse(account=_account(manager.current()), requires_openai_auth=True)


@method("getAuthStatus", GetAuthStatusParams)
async def get_auth_status(session: Session, params: GetAuthStatusParams) -> GetAuthStatusResponse:
    """Legacy: the token is the API key or the access token, and is omitted once the snapshot is poisoned."""
    manager = auth_manager(session.server)
    if params.refresh_token:
        await _refresh_quietly(manager)
    auth = manager.current()
    mode = auth.mode if auth is not None else None
    token = manager.bearer_token() if params.include_token else None
    return GetAuthStatusResponse(
        auth_method=mode if mode in ("apikey", "chatgpt") else None,  # type: ignore[arg-type]
        auth_token=token,
        requires_openai_auth=True,
    )


@method("account/login/start", LoginAccountParams)
async def start_login(
    session: Session, params: LoginAccountParams
) -> ApiKeyLoginResponse | ChatgptLoginResponse | ChatgptDeviceCodeLoginResponse:
    login = params.root
    manager = auth_manager(session.server)
    if isinstance(login, ApiKeyLogin):
        manager.check_login_allowed("api")
        await manager.store_api_key(login.api_key)
        completed = {"loginId": None, "success": True, "error": None, "onboardingEntrypoint": None}
        session.notify("account/login/completed", completed)
        session.notify("account/updated", {"authMode": "apikey", "planType": None})
        return ApiKeyLoginResponse()
    if not isinstance(login, ChatgptLogin | ChatgptDeviceCodeLogin):
        raise InvalidRequest(f"login type `{login.type}` is not supported by this server")
    manager.check_login_allowed("chatgpt")
    logins = session.scoped(Logins, Logins)
    await logins.cancel_pending()
    endpoints = manager.endpoints()
    login_id = str(uuid.uuid4())
    if isinstance(login, ChatgptLogin):
        browser = BrowserLogin(session, manager, endpoints, login_id)
        client = session.connection.client
        auth_url = await browser.start(originator=client.client_info.name if client else "codex_app_server")
        logins.activate(browser)
        return ChatgptLoginResponse(login_id=login_id, auth_url=auth_url)
    device = DeviceLogin(session, manager, endpoints, login_id)
    code = await device.start()
    logins.activate(device)
    return ChatgptDeviceCodeLoginResponse(
        login_id=login_id, verification_url=endpoints.device_verification_url, user_code=code.user_code
    )


@method("account/login/cancel", CancelLoginAccountParams)
async def cancel_login(session: Session, params: CancelLoginAccountParams) -> CancelLoginAccountResponse:
    try:
        uuid.UUID(params.login_id)
    except ValueError:
        raise InvalidRequest(f"invalid login id: {params.login_id}") from None
    logins = session.peek_scoped(Logins)
    canceled = logins is not None and await logins.cancel(params.login_id)
    return CancelLoginAccountResponse(status="canceled" if canceled else "notFound")


@method("account/logout", UnitParams)
async def logout(session: Session, params: None) -> None:
    await auth_manager(session.server).logout()
    session.notify("account/updated", {"authMode": None, "planType": None})
