"""Device-code login against the loopback issuer: success, issuer refusals, failures, cancel, concurrency."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.auth_issuer import AuthIssuer, jwt_claims
from tests.integration.account_support import TIMEOUT, auth_json, auth_mode_bits, device_login, start

DEVICE_TOKEN = "/api/accounts/deviceauth/token"


@pytest.fixture
def issuer() -> Iterator[AuthIssuer]:
    with AuthIssuer() as running:
        running.state.interval = "0"
        yield running


def test_device_login_returns_the_code_then_completes_as_chatgpt(
    app_server_factory: AppServerFactory, issuer: AuthIssuer
) -> None:
    issuer.state.pending_polls = 2
    client = start(app_server_factory, issuer)
    started = client.request("account/login/start", {"type": "chatgptDeviceCode"})
    assert started["type"] == "chatgptDeviceCode"
    assert started["verificationUrl"] == f"{issuer.url}/codex/device"
    assert started["userCode"]
    completed = client.wait_for("account/login/completed", loginId=started["loginId"], timeout=TIMEOUT)
    assert (completed["success"], completed["error"]) == (True, None)
    client.wait_for("account/updated", authMode="chatgpt", planType="plus")
    account = client.request("account/read", {})["account"]
    assert account == {"type": "chatgpt", "email": "dev@example.com", "planType": "plus"}
    stored = auth_json(client)
    assert stored["auth_mode"] == "chatgpt"
    assert stored["OPENAI_API_KEY"] is None
    assert stored["tokens"]["refresh_token"] == issuer.state.issued_refresh_tokens[-1]
    assert stored["tokens"]["account_id"] == "acct-1"
    assert jwt_claims(stored["tokens"]["id_token"])["email"] == "dev@example.com"
    assert stored["last_refresh"].endswith("Z")
    assert auth_mode_bits(client) == 0o600
    assert issuer.state.calls[DEVICE_TOKEN] == 3
    assert issuer.state.grants == ["authorization_code"]


def test_device_login_disabled_by_the_issuer_fails_the_request(
    app_server_factory: AppServerFactory, issuer: AuthIssuer
) -> None:
    issuer.state.device_code_status = 404
    client = start(app_server_factory, issuer)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/login/start", {"type": "chatgptDeviceCode"})
    assert (excinfo.value.code, excinfo.value.message) == (
        -32600,
        "device code login is not enabled for this Codex server. Use the browser login or verify the server URL.",
    )
    client.assert_no("account/login/completed", within=0.5)
    assert issuer.state.calls[DEVICE_TOKEN] == 0


def test_device_code_request_error_is_an_internal_error(
    app_server_factory: AppServerFactory, issuer: AuthIssuer
) -> None:
    issuer.state.device_code_status = 500
    client = start(app_server_factory, issuer)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/login/start", {"type": "chatgptDeviceCode"})
    assert (excinfo.value.code, excinfo.value.message) == (
        -32603,
        "failed to request device code: device code request failed with status 500 Internal Server Error",
    )
    assert issuer.state.calls[DEVICE_TOKEN] == 0


@pytest.mark.parametrize(
    ("outcome", "ours"),
    [("access_denied", "device authorization was denied"), ("expired_token", "device code expired")],
)
def test_device_login_refused_by_the_user_or_the_clock_fails(
    app_server_factory: AppServerFactory, app_server_kind: str, issuer: AuthIssuer, outcome: str, ours: str
) -> None:
    issuer.state.pending_polls = 1
    issuer.state.device_outcome = outcome
    client = start(app_server_factory, issuer)
    completed = device_login(client)
    assert completed["success"] is False
    if app_server_kind == "codex":
        # Upstream does not read RFC 8628 error codes: any non-pending status ends the login with its status.
        assert completed["error"] == "device auth failed with status 400 Bad Request"
    else:
        assert completed["error"].startswith(ours)
    client.assert_no("account/updated", within=0.3, authMode="chatgpt")
    assert client.request("account/read", {})["account"] is None
    assert issuer.state.grants == []


def test_device_login_survives_slow_down(
    app_server_factory: AppServerFactory, app_server_kind: str, issuer: AuthIssuer
) -> None:
    issuer.state.slow_down_polls = 1
    client = start(app_server_factory, issuer)
    completed = device_login(client)
    if app_server_kind == "codex":
        # Upstream treats RFC 8628 `slow_down` (400) as terminal; we back off by 5 s and keep polling.
        assert completed["error"] == "device auth failed with status 400 Bad Request"
        return
    assert completed["success"] is True
    assert issuer.state.calls[DEVICE_TOKEN] == 2


def test_device_login_failing_at_the_token_endpoint_reports_it(
    app_server_factory: AppServerFactory, issuer: AuthIssuer
) -> None:
    issuer.state.token_server_errors = 1
    client = start(app_server_factory, issuer)
    completed = device_login(client)
    assert completed["success"] is False
    assert "500 Internal Server Error" in completed["error"]
    assert client.request("account/read", {})["account"] is None


def test_cancel_ends_a_device_login_and_stops_polling(app_server_factory: AppServerFactory, issuer: AuthIssuer) -> None:
    issuer.state.device_outcome = "pending"
    issuer.state.interval = "1"
    client = start(app_server_factory, issuer)
    started = client.request("account/login/start", {"type": "chatgptDeviceCode"})
    assert client.request("account/login/cancel", {"loginId": started["loginId"]}) == {"status": "canceled"}
    completed = client.wait_for("account/login/completed", loginId=started["loginId"])
    assert (completed["success"], completed["error"]) == (False, "Login was not completed")
    polls = issuer.state.calls[DEVICE_TOKEN]
    assert client.request("account/login/cancel", {"loginId": started["loginId"]}) == {"status": "notFound"}
    time.sleep(1.5)  # more than one interval: a poller still running would have polled again
    assert issuer.state.calls[DEVICE_TOKEN] == polls
    client.assert_no("account/updated", within=0.1)


def test_a_new_login_cancels_the_pending_one(app_server_factory: AppServerFactory, issuer: AuthIssuer) -> None:
    issuer.state.device_outcome = "pending"
    client = start(app_server_factory, issuer)
    first = client.request("account/login/start", {"type": "chatgptDeviceCode"})
    second = client.request("account/login/start", {"type": "chatgptDeviceCode"})
    assert first["loginId"] != second["loginId"]
    ended = client.wait_for("account/login/completed", loginId=first["loginId"])
    assert ended["success"] is False
    issuer.state.device_outcome = "approve"  # only now: the first login must not get the chance to succeed
    done = client.wait_for("account/login/completed", loginId=second["loginId"], timeout=TIMEOUT)
    assert done["success"] is True


def test_cancel_rejects_a_malformed_login_id(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/login/cancel", {"loginId": "nope"})
    assert (excinfo.value.code, excinfo.value.message) == (-32600, "invalid login id: nope")
    unknown = {"loginId": "6b921c8b-1cf2-41eb-987f-bf4660e007c6"}
    assert client.request("account/login/cancel", unknown) == {"status": "notFound"}


def test_concurrent_logins_on_two_servers_complete_independently(
    app_server_factory: AppServerFactory, issuer: AuthIssuer
) -> None:
    issuer.state.pending_polls = 2
    one, two = start(app_server_factory, issuer), start(app_server_factory, issuer)
    first = one.request("account/login/start", {"type": "chatgptDeviceCode"})
    second = two.request("account/login/start", {"type": "chatgptDeviceCode"})
    assert first["userCode"] != second["userCode"]
    assert one.wait_for("account/login/completed", loginId=first["loginId"], timeout=TIMEOUT)["success"] is True
    assert two.wait_for("account/login/completed", loginId=second["loginId"], timeout=TIMEOUT)["success"] is True
    one.assert_no("account/login/completed", within=0.2, loginId=second["loginId"])
    two.assert_no("account/login/completed", within=0.2, loginId=first["loginId"])
    tokens = {auth_json(client)["tokens"]["refresh_token"] for client in (one, two)}
    assert tokens <= set(issuer.state.issued_refresh_tokens)
    assert len(tokens) == 2
