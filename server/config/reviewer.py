"""Who reviews approval requests: `approvals_reviewer`, with per-thread and per-turn overrides.

upstream 0.163 renamed the reviewer `guardian_subagent` to `auto_review` and reads the old spelling back
as the new one, so both are accepted everywhere and `auto_review` is what we report. Precedence: turn
override, thread override, then the config layers from the highest down. Within one layer an explicit
`approvals_reviewer` wins over the legacy `[features] guardian_approval = true`, which otherwise stands
for `guardian_subagent` (the migration upstream applied to pre-rename configs; 0.163 itself no longer
backfills it, so `config/read` keeps showing the value as written).
"""

from __future__ import annotations

from typing import Literal

from server.config import Config
from server.protocol.errors import InvalidRequest

Reviewer = Literal["user", "auto_review"]

SPELLINGS: dict[str, Reviewer] = {"user": "user", "auto_review": "auto_review", "guardian_subagent": "auto_review"}


def normalise(value: str) -> Reviewer:
    """The reported spelling of an accepted reviewer value; anything else is the client's error."""
    reviewer = SPELLINGS.get(value)
    if reviewer is None:
        expected = ", ".join(f"`{name}`" for name in SPELLINGS)
        raise InvalidRequest(f"unknown variant `{value}`, expected one of {expected}")
    return reviewer


def configured_reviewer(config: Config) -> Reviewer:
    for layer in config.applied():
        explicit = layer.values.get("approvals_reviewer")
        if isinstance(explicit, str):
            return normalise(explicit)
        features = layer.values.get("features")
        if isinstance(features, dict) and features.get("guardian_approval") is True:
            return "auto_review"
    return "user"


def approvals_reviewer(config: Config, thread: str | None = None, turn: str | None = None) -> Reviewer:
    """The reviewer in effect for a turn."""
    for override in (turn, thread):
        if override is not None:
            return normalise(override)
    return configured_reviewer(config)
