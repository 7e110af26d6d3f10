"""`account/rateLimits/read`: the ChatGPT backend's usage endpoints, shaped as upstream 0.163 reports them.

Upstream asks `GET {chatgpt_base_url}/wham/usage` (and, unless the client opts out,
`GET {chatgpt_base_url}/wham/rate-limit-reset-credits` alongside) with the login's bearer token and
`chatgpt-account-id`. Only a ChatGPT login can read usage: API keys have no quota the backend reports.

The usage payload (snake_case, as the backend sends it):

    {"plan_type": "plus", "account_id": ..., "credits": {"has_credits", "unlimited", "balance"},
     "rate_limit": {"allowed", "limit_reached",
                    "primary_window": {"used_percent", "limit_window_seconds", "reset_after_seconds",
                                       "reset_at"}, "secondary_window": ...},
     "additional_rate_limits": [{"limit_name", "metered_feature", "rate_limit": {...}}]}

becomes one `RateLimitSnapshot` per limit (`codex` for the main one, the metered feature for the others),
windows in minutes. A failed reset-credit lookup is not an error: that field is then null.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import math
from dataclasses import dataclass
from typing import Any

import httpx

from server.protocol.errors import InternalError

TIMEOUT_SECONDS = 30.0
MAX_RESPONSE_BYTES = 1024 * 1024
"""A usage answer is a few hundred bytes; anything past this is refused rather than held."""
ERROR_BODY_CHARS = 4096
"""How much of a failed answer's body goes into the error message."""

AUTH_REQUIRED = "codex account authentication required to read rate limits"
CHATGPT_REQUIRED = "chatgpt authentication required to read rate limits"
MAIN_LIMIT_ID = "codex"

# upstream's PlanType enum (GetAccountRateLimitsResponse.json); any other plan reads as "unknown".
PLAN_TYPES = frozenset(
    {
        "free",
        "go",
        "plus",
        "pro",
        "prolite",
        "promax",
        "team",
        "self_serve_business_prolite",
        "self_serve_business_usage_based",
        "business",
        "ent26",
        "enterprise_cbp_automation",
        "enterprise_cbp_usage_based",
        "enterprise",
        "edu",
        "edu_plus",
        "edu_pro",
    }
)
RESET_TYPES = {"codex_rate_limits": "codexRateLimits"}
CREDIT_STATUSES = frozenset({"available", "redeeming", "redeemed"})


class UsageError(InternalError):
    """The usage lookup failed: upstream's -32603, its message prefixed as upstream prefixes it."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"failed to fetch codex rate limits: {detail}")


@dataclass(frozen=True)
class Login:
    access_token: str
    account_id: str | None

    def headers(self) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.access_token}", "accept": "application/json"}
        if self.account_id:
            headers["chatgpt-account-id"] = self.account_id
        return headers


async def _get(client: httpx.AsyncClient, url: str, login: Login) -> Any:
    """The decoded JSON of a 2xx answer, or a UsageError worded like upstream's backend client."""
    try:
        async with client.stream("GET", url, headers=login.headers()) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise UsageError(f"GET {url} answered more than {MAX_RESPONSE_BYTES} bytes")
    except httpx.HTTPError:
        raise UsageError(f"error sending request for url ({url})") from None
    text = body.decode("utf-8", errors="replace")
    content_type = response.headers.get("content-type", "")
    if not 200 <= response.status_code < 300:
        status = f"{response.status_code} {response.reason_phrase}".strip()
        raise UsageError(f"GET {url} failed: {status}; content-type={content_type}; body={text[:ERROR_BODY_CHARS]}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"Decode error for {url}: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            f"content-type={content_type}; body={text[:ERROR_BODY_CHARS]}"
        ) from None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _integer(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _window(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    seconds = _integer(raw.get("limit_window_seconds"))
    return {
        "usedPercent": _integer(raw.get("used_percent")) or 0,
        "windowDurationMins": math.ceil(seconds / 60) if seconds is not None else None,
        "resetsAt": _integer(raw.get("reset_at")),
    }


def _credits(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    balance = raw.get("balance")
    return {
        "hasCredits": bool(raw.get("has_credits")),
        "unlimited": bool(raw.get("unlimited")),
        "balance": None if balance is None else str(balance),
    }


def _snapshot(
    limit_id: str, limit_name: str | None, rate_limit: Any, credits: Any, plan_type: str | None
) -> dict[str, Any]:
    limit = _object(rate_limit)
    return {
        "limitId": limit_id,
        "limitName": limit_name,
        "normalModelSlug": None,
        "primary": _window(limit.get("primary_window")),
        "secondary": _window(limit.get("secondary_window")),
        "credits": _credits(credits),
        "individualLimit": None,
        "spendControlReached": None,
        "planType": plan_type,
        "rateLimitReachedType": None,
    }


def _epoch_seconds(value: Any) -> int | None:
    """An RFC 3339 timestamp (as the backend sends `granted_at`) in Unix seconds."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def reset_credits(raw: Any) -> dict[str, Any] | None:
    """The `RateLimitResetCreditsSummary` of a reset-credit answer; None when it is not one."""
    if not isinstance(raw, dict) or _integer(raw.get("available_count")) is None:
        return None
    credits = []
    for item in raw.get("credits") or []:
        granted = _epoch_seconds(_object(item).get("granted_at"))
        if not isinstance(item.get("id"), str) or granted is None:
            return None
        status = item.get("status")
        credits.append(
            {
                "id": item["id"],
                "resetType": RESET_TYPES.get(str(item.get("reset_type")), "unknown"),
                "status": status if status in CREDIT_STATUSES else "unknown",
                "grantedAt": granted,
                "expiresAt": _epoch_seconds(item.get("expires_at")),
                "title": item.get("title") if isinstance(item.get("title"), str) else None,
                "description": item.get("description") if isinstance(item.get("description"), str) else None,
            }
        )
    return {"availableCount": raw["available_count"], "credits": credits}


def report(usage: Any, credits_summary: dict[str, Any] | None) -> dict[str, Any]:
    """The `GetAccountRateLimitsResponse` for a usage payload."""
    if not isinstance(usage, dict):
        raise UsageError("usage answer is not a JSON object")
    plan = usage.get("plan_type")
    plan_type = (plan if plan in PLAN_TYPES else "unknown") if isinstance(plan, str) else None
    main = _snapshot(MAIN_LIMIT_ID, None, usage.get("rate_limit"), usage.get("credits"), plan_type)
    by_id = {MAIN_LIMIT_ID: main}
    for extra in usage.get("additional_rate_limits") or []:
        feature = _object(extra).get("metered_feature")
        if isinstance(feature, str) and feature:
            name = extra.get("limit_name")
            by_id[feature] = _snapshot(
                feature, name if isinstance(name, str) else None, extra.get("rate_limit"), None, plan_type
            )
    account_id = usage.get("account_id")
    return {
        "ordinaryUsageAllowed": None,
        "rateLimits": main,
        "rateLimitsByLimitId": by_id,
        "rateLimitResetCredits": credits_summary,
        "accountId": account_id if isinstance(account_id, str) else None,
        "rateLimitUpsell": None,
    }


async def read(base_url: str, login: Login, *, reset_credit_details: bool = True) -> dict[str, Any]:
    """Ask the backend, both endpoints at once as upstream does; raises UsageError."""
    base = base_url.rstrip("/")
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        usage_call = _get(client, f"{base}/wham/usage", login)
        if not reset_credit_details:
            return report(await usage_call, None)
        answers: tuple[Any, Any] = await asyncio.gather(
            usage_call, _get(client, f"{base}/wham/rate-limit-reset-credits", login), return_exceptions=True
        )
    usage, credits = answers
    if isinstance(usage, BaseException):
        raise usage
    return report(usage, None if isinstance(credits, BaseException) else reset_credits(credits))
