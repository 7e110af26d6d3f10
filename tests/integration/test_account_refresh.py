"""Token refresh through account/read and getAuthStatus, and the poison that makes permanent failures cheap.

Every test logs in with the device flow first (it works against both servers without a browser), then
drives refreshes and counts the stand-in's token-endpoint calls: "no network call" is an exact count.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator

import pytest

from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.auth_issuer import AuthIssuer
from tests.integration.account_support import auth_json, auth_mode_bits, device_login, signed_in, start


@pytest.fixture
def issuer() -> Iterator[AuthIssuer]:
    with AuthIssuer() as running:
        running.state.interval = "0"
        yield running


def test_refresh_token_true_refreshes_and_stores_the_new_tokens(
    app_server_factory: AppServerFactory, issuer: AuthIssuer
) -> None:
    client = signed_in(app_server_factory, issuer)
    before = auth_json(client)
    calls = issuer.state.token_calls
    account = client.request("account/read", {"refreshToken": True})["account"]
    assert account == {"type": "chatgpt", "email": "dev@example.com", "planType": "plus"}
    assert issuer.state.token_calls == calls + 1
    assert issuer.state.refresh_bodies[-1] == {"client_id": issuer.state.client_id, "grant_type": "refresh_token"}
    after = auth_json(client)
    assert after["tokens"]["refresh_token"] == issuer.state.issued_refresh_tokens[-1]
    assert after["tokens"]["access_token"] != before["tokens"]["access_token"]
    assert after["last_refresh"] > before["last_refresh"]
    assert auth_mode_bits(client) == 0o600


def test_permanent_refresh_failure_poisons_the_snapshot(
    app_server_factory: AppServerFactory, app_server_kind: str, issuer: AuthIssuer
) -> None:
    client = signed_in(app_server_factory, issuer)
    issuer.state.token_error = "refresh_token_reused"
    calls = issuer.state.token_calls
    results = [client.request("account/read", {"refreshToken": True}) for _ in range(10)]
    assert issuer.state.token_calls == calls + 1
    status = client.request("getAuthStatus", {"includeToken": True, "refreshToken": True})
    assert status == {"authMethod": "chatgpt", "authToken": None, "requiresOpenaiAuth": True}
    assert issuer.state.token_calls == calls + 1
    if app_server_kind == "codex":
        # Upstream reports no account at all once poisoned; the issue keeps it visible (the user is still
        # signed in as that account, only the token cannot be renewed).
        assert all(result["account"] is None for result in results)
    else:
        assert all(result["account"]["email"] == "dev@example.com" for result in results)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("refresh_token_expired", 401),
        ("refresh_token_invalidated", 401),
        ("invalid_grant", 401),
        ("invalid_grant", 400),
    ],
)
def test_every_permanent_failure_code_poisons(
    app_server_factory: AppServerFactory, issuer: AuthIssuer, code: str, status: int
) -> None:
    client = signed_in(app_server_factory, issuer)
    issuer.state.token_error, issuer.state.token_error_status = code, status
    calls = issuer.state.token_calls
    for _ in range(3):
        client.request("account/read", {"refreshToken": True})
    assert issuer.state.token_calls == calls + 1


def test_transient_refresh_failure_does_not_poison(app_server_factory: AppServerFactory, issuer: AuthIssuer) -> None:
    client = signed_in(app_server_factory, issuer)
    issuer.state.token_server_errors = 1
    calls = issuer.state.token_calls
    client.request("account/read", {"refreshToken": True})
    client.request("account/read", {"refreshToken": True})
    assert issuer.state.token_calls == calls + 2
    assert auth_json(client)["tokens"]["refresh_token"] == issuer.state.issued_refresh_tokens[-1]
    status = client.request("getAuthStatus", {"includeToken": True})
    assert status["authToken"] == issuer.state.issued_access_tokens[-1]


def test_poison_is_cleared_by_a_new_login(app_server_factory: AppServerFactory, issuer: AuthIssuer) -> None:
    client = signed_in(app_server_factory, issuer)
    issuer.state.token_error = "refresh_token_reused"
    client.request("account/read", {"refreshToken": True})
    issuer.state.token_error = None
    assert device_login(client)["success"] is True
    calls = issuer.state.token_calls
    client.request("account/read", {"refreshToken": True})
    assert issuer.state.token_calls == calls + 1
    status = client.request("getAuthStatus", {"includeToken": True})
    assert status["authToken"] == issuer.state.issued_access_tokens[-1]


def test_poison_is_cleared_by_a_different_auth_json(
    app_server_factory: AppServerFactory, app_server_kind: str, issuer: AuthIssuer
) -> None:
    client = signed_in(app_server_factory, issuer)
    issuer.state.token_error = "refresh_token_reused"
    client.request("account/read", {"refreshToken": True})
    issuer.state.token_error = None
    assert client.codex_home is not None
    (client.codex_home / "auth.json").write_text(json.dumps(issuer.auth_json(stale=False), indent=2))
    calls = issuer.state.token_calls
    client.request("account/read", {"refreshToken": True})
    if app_server_kind == "codex":
        # Upstream keeps the poisoned snapshot in memory and does not notice another writer's auth.json
        # until it reloads for its own reasons; ours re-reads the file whenever it changes.
        assert issuer.state.token_calls == calls
        return
    assert issuer.state.token_calls == calls + 1


def test_kill_during_login_leaves_auth_json_intact(app_server_factory: AppServerFactory, issuer: AuthIssuer) -> None:
    issuer.state.device_outcome = "pending"
    client = start(app_server_factory, issuer)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-keep-me"})
    client.request("account/login/start", {"type": "chatgptDeviceCode"})
    process = client.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    client.wait_exit()
    assert auth_json(client) == {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-keep-me"}
    assert auth_mode_bits(client) == 0o600


def test_secrets_never_reach_stderr(app_server_factory: AppServerFactory, issuer: AuthIssuer) -> None:
    client = signed_in(app_server_factory, issuer)
    client.request("account/read", {"refreshToken": True})
    issuer.state.token_server_errors = 1
    client.request("account/read", {"refreshToken": True})
    issuer.state.token_error = "refresh_token_reused"
    client.request("account/read", {"refreshToken": True})
    client.request("getAuthStatus", {"includeToken": True, "refreshToken": True})
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-secret-api-key-value"})
    issuer.state.device_code_status = 500
    with pytest.raises(Exception, match="500"):
        client.request("account/login/start", {"type": "chatgptDeviceCode"})
    stderr = "\n".join(client.stderr)
    secrets = [
        *issuer.state.issued_refresh_tokens,
        *issuer.state.issued_access_tokens,
        *issuer.state.issued_id_tokens,
        "sk-secret-api-key-value",
    ]
    assert len(secrets) == 7
    fragments = [*secrets, *(secret.split(".")[1] for secret in secrets if secret.count(".") == 2)]
    leaked = [fragment[:12] + "..." for fragment in fragments if fragment in stderr]
    assert leaked == []
