"""What the server reads out of the issuer's JWTs: email, plan and ChatGPT account id.

The tokens are not verified here, on purpose and like upstream: they come straight from the issuer over TLS
(or from our own 0600 file) and are only displayed, never trusted for authorization; the backend verifies them
on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AUTH_CLAIMS = "https://api.openai.com/auth"

PLAN_TYPES = frozenset(
    {
        "free", "go", "plus", "pro", "prolite", "promax", "team", "self_serve_business_prolite",
        "self_serve_business_usage_based", "business", "ent26", "enterprise_cbp_automation",
        "enterprise_cbp_usage_based", "enterprise", "edu", "edu_plus", "edu_pro", "unknown",
    }
)  # fmt: skip
"""The wire's PlanType enum (upstream schema); anything else is reported as "unknown"."""


@dataclass(frozen=True)
class IdentityClaims:
    email: str | None
    plan_type: str | None
    account_id: str | None


def decode(token: str) -> dict[str, Any]:
    """The claims of a JWT without verifying it; {} for anything that is not a JWT."""
    import jwt  # lazy: only signed-in ChatGPT accounts need it

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def identity(id_token: str) -> IdentityClaims:
    claims = decode(id_token)
    auth = claims.get(AUTH_CLAIMS)
    auth = auth if isinstance(auth, dict) else {}
    email, plan, account = claims.get("email"), auth.get("chatgpt_plan_type"), auth.get("chatgpt_account_id")
    return IdentityClaims(
        email=email if isinstance(email, str) else None,
        plan_type=(plan if plan in PLAN_TYPES else "unknown") if isinstance(plan, str) else None,
        account_id=account if isinstance(account, str) else None,
    )
