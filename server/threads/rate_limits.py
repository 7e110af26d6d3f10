"""`account/rateLimits/updated` from the model API's `x-codex-*` response headers, shaped as upstream's
RateLimitSnapshot (limitId "codex"; a window is reported only when its used-percent header is present)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from server.threads.rollout import Json


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _window(headers: Mapping[str, str], name: str) -> Json | None:
    used = _number(headers.get(f"x-codex-{name}-used-percent"))
    if used is None:
        return None
    minutes = _number(headers.get(f"x-codex-{name}-window-minutes"))
    resets = _number(headers.get(f"x-codex-{name}-reset-at"))
    return {
        "usedPercent": math.floor(used + 0.5),  # half away from zero, as Rust rounds
        "windowDurationMins": int(minutes) if minutes is not None else None,
        "resetsAt": int(resets) if resets is not None else None,
    }


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() == "true"


def _credits(headers: Mapping[str, str]) -> Json | None:
    has_credits = _flag(headers.get("x-codex-credits-has-credits"))
    if has_credits is None:
        return None
    return {
        "hasCredits": has_credits,
        "unlimited": bool(_flag(headers.get("x-codex-credits-unlimited"))),
        "balance": headers.get("x-codex-credits-balance"),
    }


def snapshot(headers: Mapping[str, Any]) -> Json:
    """The snapshot upstream sends after every model response (all fields null when no header is set)."""
    lower = {str(key).lower(): str(value) for key, value in headers.items()}
    return {
        "limitId": "codex",
        "limitName": None,
        "normalModelSlug": None,
        "primary": _window(lower, "primary"),
        "secondary": _window(lower, "secondary"),
        "credits": _credits(lower),
        "individualLimit": None,
        "spendControlReached": None,
        "planType": None,
        "rateLimitReachedType": None,
    }
