"""account/rateLimits/read: the ChatGPT backend's usage endpoints as upstream 0.163 reports them.

Both servers sign in with the device flow against the issuer stand-in, which also serves the backend's
`wham/usage` and `wham/rate-limit-reset-credits` in their snake_case shapes (measured on upstream: the
first answers the limits, the second the reset credits; a failed second lookup leaves that field null).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.sync import Client
from fixtures.auth_issuer import AuthIssuer, jwt_claims
from tests.integration.account_support import signed_in

USAGE = {
    "plan_type": "plus",
    "account_id": "acct-9",
    "rate_limit": {
        "allowed": True,
        "limit_reached": False,
        "primary_window": {
            "used_percent": 6,
            "limit_window_seconds": 18000,
            "reset_after_seconds": 100,
            "reset_at": 1738300000,
        },
        "secondary_window": {
            "used_percent": 24,
            "limit_window_seconds": 604800,
            "reset_after_seconds": 200,
            "reset_at": 1738900000,
        },
    },
    "credits": {"has_credits": True, "unlimited": False, "balance": "5.39"},
    "additional_rate_limits": [
        {
            "limit_name": "GPT-5-Codex-Mini",
            "metered_feature": "codex_other",
            "rate_limit": {
                "allowed": True,
                "limit_reached": True,
                "primary_window": {
                    "used_percent": 100,
                    "limit_window_seconds": 18000,
                    "reset_after_seconds": 100,
                    "reset_at": 1738300000,
                },
                "secondary_window": None,
            },
        }
    ],
}
RESET_CREDITS = {
    "available_count": 2,
    "credits": [
        {
            "id": "c1",
            "reset_type": "codex_rate_limits",
            "status": "available",
            "granted_at": "2026-01-01T00:00:00Z",
            "expires_at": None,
            "title": "T",
            "description": "D",
        },
        {
            "id": "c2",
            "reset_type": "other",
            "status": "weird",
            "granted_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-02-01T00:00:00Z",
        },
    ],
}


def snapshot(limit_id: str, name: str | None, primary: Any, secondary: Any, credits: Any) -> dict[str, Any]:
    return {
        "limitId": limit_id,
        "limitName": name,
        "normalModelSlug": None,
        "primary": primary,
        "secondary": secondary,
        "credits": credits,
        "individualLimit": None,
        "spendControlReached": None,
        "planType": "plus",
        "rateLimitReachedType": None,
    }


MAIN = snapshot(
    "codex",
    None,
    {"usedPercent": 6, "windowDurationMins": 300, "resetsAt": 1738300000},
    {"usedPercent": 24, "windowDurationMins": 10080, "resetsAt": 1738900000},
    {"hasCredits": True, "unlimited": False, "balance": "5.39"},
)
OTHER = snapshot(
    "codex_other",
    "GPT-5-Codex-Mini",
    {"usedPercent": 100, "windowDurationMins": 300, "resetsAt": 1738300000},
    None,
    None,
)
CREDITS_SUMMARY = {
    "availableCount": 2,
    "credits": [
        {
            "id": "c1",
            "resetType": "codexRateLimits",
            "status": "available",
            "grantedAt": 1767225600,
            "expiresAt": None,
            "title": "T",
            "description": "D",
        },
        {
            "id": "c2",
            "resetType": "unknown",
            "status": "unknown",
            "grantedAt": 1767225600,
            "expiresAt": 1769904000,
            "title": None,
            "description": None,
        },
    ],
}


@pytest.fixture
def issuer() -> Iterator[AuthIssuer]:
    with AuthIssuer() as running:
        running.state.interval = "0"
        yield running


def read(client: Client, upstream_schema: Any, params: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = client.request("account/rateLimits/read", params)
    if upstream_schema is not None:
        upstream_schema.check("GetAccountRateLimitsResponse", result)
    return result


def test_usage_and_reset_credits_are_reported_per_limit(
    app_server_factory: AppServerFactory, issuer: AuthIssuer, upstream_schema: Any
) -> None:
    issuer.state.usage, issuer.state.reset_credits = USAGE, RESET_CREDITS
    client = signed_in(app_server_factory, issuer)
    assert read(client, upstream_schema) == {
        "ordinaryUsageAllowed": None,
        "rateLimits": MAIN,
        "rateLimitsByLimitId": {"codex": MAIN, "codex_other": OTHER},
        "rateLimitResetCredits": CREDITS_SUMMARY,
        "accountId": "acct-9",
        "rateLimitUpsell": None,
    }
    bearer, account = issuer.state.usage_auth[-1]
    assert bearer is not None
    assert jwt_claims(bearer) == jwt_claims(issuer.state.issued_access_tokens[-1])
    assert account == issuer.state.account_id


def test_opting_out_of_reset_credit_details_skips_that_lookup(
    app_server_factory: AppServerFactory, issuer: AuthIssuer, upstream_schema: Any
) -> None:
    issuer.state.usage, issuer.state.reset_credits = USAGE, RESET_CREDITS
    client = signed_in(app_server_factory, issuer)
    before = issuer.state.calls["/backend-api/wham/rate-limit-reset-credits"]
    result = read(client, upstream_schema, {"excludeResetCreditDetails": True})
    assert result["rateLimitResetCredits"] is None
    assert result["rateLimits"] == MAIN
    assert issuer.state.calls["/backend-api/wham/rate-limit-reset-credits"] == before


def test_a_failed_reset_credit_lookup_leaves_only_that_field_null(
    app_server_factory: AppServerFactory, issuer: AuthIssuer, upstream_schema: Any
) -> None:
    issuer.state.usage = {"plan_type": "plus", "rate_limit": None, "credits": None}
    client = signed_in(app_server_factory, issuer)
    result = read(client, upstream_schema, [])
    empty = snapshot("codex", None, None, None, None)
    assert result["rateLimits"] == empty
    assert result["rateLimitsByLimitId"] == {"codex": empty}
    assert (result["rateLimitResetCredits"], result["accountId"]) == (None, None)


def test_a_failed_usage_lookup_is_an_internal_error_naming_the_url_and_status(
    app_server_factory: AppServerFactory, issuer: AuthIssuer
) -> None:
    client = signed_in(app_server_factory, issuer)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/rateLimits/read")
    url = f"{issuer.chatgpt_base_url}/wham/usage"
    assert excinfo.value.code == -32603
    assert excinfo.value.message.startswith(f"failed to fetch codex rate limits: GET {url} failed: 404 Not Found;")
    assert excinfo.value.message.endswith("body=not found")


def test_an_unreachable_backend_is_an_internal_error(app_server_factory: AppServerFactory, issuer: AuthIssuer) -> None:
    first = signed_in(app_server_factory, issuer)
    first.close()
    unreachable = "http://127.0.0.1:1/backend-api"
    client = app_server_factory(
        env=issuer.server_env(), config_toml=f'chatgpt_base_url = "{unreachable}"\n', codex_home=first.codex_home
    )
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/rateLimits/read")
    assert (excinfo.value.code, excinfo.value.message) == (
        -32603,
        f"failed to fetch codex rate limits: error sending request for url ({unreachable}/wham/usage)",
    )


def test_without_a_login_or_with_an_api_key_rate_limits_are_refused(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/rateLimits/read")
    assert (excinfo.value.code, excinfo.value.message) == (
        -32600,
        "codex account authentication required to read rate limits",
    )
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-usage"})
    client.wait_for("account/updated")
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/rateLimits/read")
    assert (excinfo.value.code, excinfo.value.message) == (
        -32600,
        "chatgpt authentication required to read rate limits",
    )


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"excludeResetCreditDetails": "x"}, 'invalid type: string "x", expected a boolean'),
        ({"supportsLunaReserve": 1}, "invalid type: integer `1`, expected a boolean"),
        ("x", 'invalid type: string "x"'),
    ],
)
def test_params_of_the_wrong_type_are_invalid_requests(
    app_server_factory: AppServerFactory, issuer: AuthIssuer, params: Any, fragment: str
) -> None:
    client = signed_in(app_server_factory, issuer)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("account/rateLimits/read", params)
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith("Invalid request: ")
    assert fragment in excinfo.value.message
