"""The `deprecationNotice`s upstream 0.163 sends when a thread starts on a config using deprecated settings.

Measured on the upstream binary: after `thread/start`'s response and `thread/started`, one notice per
deprecated feature flag that a layer sets (to any value), worded per flag. Flags upstream says nothing about
get no notice here either.
"""

from __future__ import annotations

from typing import Any

from server.config import Config

_WEB_SEARCH = (
    "is deprecated because web search is enabled by default.",
    'Set `web_search` to `"live"`, `"indexed"`, `"cached"`, or `"disabled"` at the top level (or under a '
    "profile) in config.toml if you want to override it.",
)
FEATURE_NOTICES: dict[str, tuple[str, str]] = {
    "web_search_request": _WEB_SEARCH,
    "web_search_cached": _WEB_SEARCH,
    "transcript_v2": ("is deprecated and ignored.", "Use `[tui].fullscreen_transcript` in config.toml instead."),
}
"""flag -> (the summary after "`[features].<flag>` ", details)."""


def notices(config: Config) -> list[dict[str, Any]]:
    """The `DeprecationNoticeNotification` params for `config`, each flag once, in the order layers set them."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for layer in reversed(config.applied()):
        table = layer.values.get("features")
        if not isinstance(table, dict):
            continue
        for key in table:
            if key in FEATURE_NOTICES and key not in seen:
                seen.add(key)
                summary, details = FEATURE_NOTICES[key]
                found.append({"summary": f"`[features].{key}` {summary}", "details": details})
    return found
