"""The message a user sees when the model API says the usage limit is reached.

Wording follows upstream per plan (protocol notes, section 12.4). Two rules matter more than the words:
business plans billed by usage are told to ask their admin (never to buy credits themselves), and nobody is
told to switch models unless the API named a model-scoped limit, even when credits remain.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

PREFIX = "You\u2019ve hit your usage limit."
ADMIN_PLANS = frozenset({"team", "business", "self_serve_business_usage_based", "self_serve_business_prolite"})
WORKSPACE_OVERRIDES = {
    "workspace_member_credits_depleted": (
        "Your workspace is out of credits. Ask your workspace owner to refill in order to continue."
    ),
    "workspace_owner_credits_depleted": "Your workspace is out of credits. Add credits to continue.",
    "workspace_owner_usage_limit_reached": (
        "You hit your spend cap set in your workspace. Increase your spend cap to continue."
    ),
}


def _retry_clause(resets_at: Any, *, capital: bool) -> str:
    if isinstance(resets_at, int | float) and not isinstance(resets_at, bool):
        when = time.strftime("%I:%M %p", time.localtime(resets_at)).lstrip("0")
        return f"{'T' if capital else 't'}ry again at {when}."
    return f"{'T' if capital else 't'}ry again later."


def _model_limit_name(headers: Mapping[str, str]) -> str | None:
    lower = {key.lower(): value for key, value in headers.items()}
    active = lower.get("x-codex-active-limit")
    if active and active != "codex":
        scoped = active.removeprefix("codex_")
        return lower.get(f"x-codex-{scoped}-limit-name") or None
    return lower.get("x-codex-limit-name") or None


def usage_limit_message(error: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The turn's error text for a 429 whose body is `{"error": {"type": ..., "plan_type", "resets_at"}}`."""
    if error.get("type") == "usage_not_included":
        return "To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus."
    lower = {key.lower(): value for key, value in headers.items()}
    override = WORKSPACE_OVERRIDES.get(lower.get("x-codex-rate-limit-reached-type", ""))
    if override:
        return override
    resets_at = error.get("resets_at")
    model = _model_limit_name(headers)
    if model:
        retry = _retry_clause(resets_at, capital=False)
        return f"You\u2019ve hit your usage limit for {model}. Switch to another model now, or {retry}"
    promo = lower.get("x-codex-promo-message")
    if promo:
        return f"{PREFIX} {promo}, or {_retry_clause(resets_at, capital=False)}"
    plan = error.get("plan_type")
    if plan == "plus":
        return (
            f"{PREFIX} Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage "
            f"to purchase more credits or {_retry_clause(resets_at, capital=False)}"
        )
    if plan == "pro":
        return (
            f"{PREFIX} Visit https://chatgpt.com/settings/usage to purchase more credits or "
            f"{_retry_clause(resets_at, capital=False)}"
        )
    if plan in ADMIN_PLANS:
        retry = _retry_clause(resets_at, capital=False)
        return f"{PREFIX} To get more access now, send a request to your admin or {retry}"
    if plan == "free":
        return (
            f"{PREFIX} Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus), or "
            f"{_retry_clause(resets_at, capital=False)}"
        )
    return f"{PREFIX} {_retry_clause(resets_at, capital=True)}"
