"""The `deprecationNotice`s upstream 0.163 sends when a thread goes live.

Measured on the upstream binary:
- a thread going live (thread/start, thread/fork, thread/resume of a thread no client has loaded) on a
  config that sets a deprecated feature flag gets one notice per such flag that a layer sets (to any
  value), worded per flag. Flags upstream says nothing about get no notice here either.
- thread/resume and thread/fork without `excludeTurns: true` first get HYDRATION_NOTICE, live or not.
Order: thread/start sends `thread/started` before the flags' notices; thread/fork sends its notices before
`thread/started`; thread/resume sends no `thread/started`.
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


HYDRATION_NOTICE: dict[str, Any] = {
    "summary": "Full-history hydration is deprecated for paginated threads; use `excludeTurns: true`, then page "
    "with `thread/turns/list` and `thread/items/list`.",
    "details": None,
}
"""For a thread/resume or thread/fork whose response carries the whole history (upstream 0.163's text)."""


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
