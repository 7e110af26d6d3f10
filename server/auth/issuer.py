"""HTTP calls to the login issuer, blocking (run them with asyncio.to_thread).

Bodies and messages follow what upstream 0.163 sends and says (protocol notes 5 and 7): the device-code
endpoints take JSON, the token endpoint takes a form for `authorization_code` and JSON for `refresh_token`.
Error messages carry the HTTP status and the issuer's error *code* only: bodies may echo tokens or codes, so
they are never copied into a message or a log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from server.auth.endpoints import LoginEndpoints
from server.protocol.errors import INVALID_REQUEST, InternalError

if TYPE_CHECKING:
    import requests

TIMEOUT = (10.0, 30.0)
"""(connect, read) seconds for one issuer call; a hung issuer must not hang a login or account/read."""

DEVICE_CODE_DISABLED = (
    "device code login is not enabled for this Codex server. Use the browser login or verify the server URL."
)
PERMANENT_REFRESH_CODES = {
    "refresh_token_expired": "Your access token could not be refreshed because your refresh token has expired. "
    "Please log out and sign in again.",
    "refresh_token_reused": "Your access token could not be refreshed because your refresh token was already "
    "used. Please log out and sign in again.",
    "refresh_token_invalidated": "Your access token could not be refreshed because your refresh token was "
    "revoked. Please log out and sign in again.",
}
REFRESH_FAILED = "Your access token could not be refreshed. Please log out and sign in again."
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class IssuerError(InternalError):
    """A failed issuer call; `str()` is safe to show and log. A request it fails answers -32603 with it."""


class DeviceCodeDisabled(IssuerError):
    """The issuer has no device-code flow: upstream answers `account/login/start` with -32600 and this text."""

    code = INVALID_REQUEST

    def __init__(self) -> None:
        super().__init__(DEVICE_CODE_DISABLED)


class RefreshError(IssuerError):
    def __init__(self, message: str, *, permanent: bool, cached: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.cached = cached
        """True when the failure was answered from the poisoned snapshot, without asking the issuer."""


@dataclass(frozen=True)
class TokenResponse:
    id_token: str | None
    access_token: str | None
    refresh_token: str | None


@dataclass(frozen=True)
class DeviceCode:
    device_auth_id: str
    user_code: str
    interval: float
    expires_in: float | None


@dataclass(frozen=True)
class DevicePoll:
    """One poll's outcome: `approved` with the code, or `error` (an RFC 8628 3.5 code or a failure)."""

    status: int
    authorization_code: str | None = None
    code_verifier: str | None = None
    error: str | None = None


def status_text(status: int) -> str:
    """`400 Bad Request`, as upstream's HTTP client prints a status."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def error_code(response: requests.Response) -> str | None:
    """The OAuth `error` of a reply (`{"error": "x"}` or `{"error": {"code": "x"}}`), if it looks like a code."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("code")
    return error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else None


def _post(url: str, **kwargs: Any) -> requests.Response:
    import requests  # here, not at the top: it costs ~100 ms that only a login or refresh should pay

    try:
        return requests.post(url, timeout=TIMEOUT, headers={"accept": "application/json"}, **kwargs)
    except requests.RequestException:
        raise IssuerError(f"error sending request for url ({url})") from None


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise IssuerError("the issuer answered with something that is not JSON") from None
    if not isinstance(body, dict):
        raise IssuerError("the issuer answered with JSON that is not an object")
    return body


def _string_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise IssuerError(f"missing field `{name}`")
    return value


def _seconds(value: Any, default: float | None) -> float | None:
    """The issuer sends numbers as strings ("5"); accept both, and fall back on nonsense."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if seconds >= 0 else default


def request_device_code(endpoints: LoginEndpoints) -> DeviceCode:
    try:
        response = _post(endpoints.device_code_url, json={"client_id": endpoints.client_id})
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise DeviceCodeDisabled
        if not response.ok:
            raise IssuerError(f"device code request failed with status {status_text(response.status_code)}")
        body = _json_object(response)
        return DeviceCode(
            device_auth_id=_string_field(body, "device_auth_id"),
            user_code=_string_field(body, "user_code"),
            interval=_seconds(body.get("interval"), 5.0) or 0.0,
            expires_in=_seconds(body.get("expires_in"), None),
        )
    except DeviceCodeDisabled:
        raise
    except IssuerError as exc:
        raise IssuerError(f"failed to request device code: {exc}") from None


def poll_device_token(endpoints: LoginEndpoints, code: DeviceCode) -> DevicePoll:
    """One poll. Raises IssuerError only when the issuer cannot be reached."""
    body = {"device_auth_id": code.device_auth_id, "user_code": code.user_code}
    response = _post(endpoints.device_token_url, json=body)
    if response.ok:
        reply = _json_object(response)
        return DevicePoll(
            response.status_code,
            authorization_code=_string_field(reply, "authorization_code"),
            code_verifier=_string_field(reply, "code_verifier"),
        )
    return DevicePoll(response.status_code, error=error_code(response))


def exchange_code(endpoints: LoginEndpoints, code: str, verifier: str, redirect_uri: str) -> TokenResponse:
    """The authorization-code grant (RFC 6749 4.1.3 with the RFC 7636 verifier)."""
    form = {
        "grant_type": "authorization_code",
        "client_id": endpoints.client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    try:
        response = _post(endpoints.token_url, data=form)
        if not response.ok:
            reason = error_code(response)
            detail = f": {reason}" if reason else ""
            raise IssuerError(f"token endpoint returned status {status_text(response.status_code)}{detail}")
        body = _json_object(response)
        tokens = TokenResponse(
            _string_field(body, "id_token"), _string_field(body, "access_token"), _string_field(body, "refresh_token")
        )
    except IssuerError as exc:
        raise IssuerError(f"Token exchange failed: {exc}") from None
    return tokens


def refresh(endpoints: LoginEndpoints, refresh_token: str) -> TokenResponse:
    """The refresh grant. A 401, or `invalid_grant`, is permanent: retrying the same token cannot succeed."""
    body = {"client_id": endpoints.client_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
    try:
        response = _post(endpoints.refresh_url, json=body)
    except IssuerError as exc:
        raise RefreshError(f"failed to refresh the access token: {exc}", permanent=False) from None
    if response.ok:
        try:
            reply = _json_object(response)
        except IssuerError as exc:
            raise RefreshError(f"failed to refresh the access token: {exc}", permanent=False) from None

        def optional(name: str) -> str | None:
            value = reply.get(name)
            return value if isinstance(value, str) and value else None

        return TokenResponse(optional("id_token"), optional("access_token"), optional("refresh_token"))
    code = error_code(response)
    if response.status_code == HTTPStatus.UNAUTHORIZED or code in ("invalid_grant", *PERMANENT_REFRESH_CODES):
        return_message = PERMANENT_REFRESH_CODES.get(code or "", REFRESH_FAILED)
        raise RefreshError(return_message, permanent=True)
    detail = f" ({code})" if code else ""
    raise RefreshError(
        f"failed to refresh the access token: token endpoint returned status "
        f"{status_text(response.status_code)}{detail}",
        permanent=False,
    )
