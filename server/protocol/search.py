"""Wire models of fuzzy file search (upstream schema: FuzzyFileSearch*, top level, not v2).

Result items keep upstream's snake_case keys (`file_name`, `match_type`) in upstream's key order; every
other model is camelCase like the rest of the protocol.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from server.protocol.base import WireModel


class FuzzyFileSearchParams(WireModel):
    query: str
    roots: list[str]
    """Plain strings: a relative or missing root yields no results rather than an error, as upstream."""
    cancellation_token: str | None = None


class FuzzyFileSearchResult(WireModel):
    model_config = ConfigDict(alias_generator=None, populate_by_name=True, extra="ignore")

    root: str
    path: str
    match_type: Literal["file", "directory"]
    file_name: str
    score: int
    indices: list[int] | None = None


class FuzzyFileSearchResponse(WireModel):
    files: list[FuzzyFileSearchResult]


class SessionStartParams(WireModel):
    session_id: str
    roots: list[str]


class SessionUpdateParams(WireModel):
    session_id: str
    query: str


class SessionStopParams(WireModel):
    session_id: str


class SessionUpdatedNotification(WireModel):
    session_id: str
    query: str
    files: list[FuzzyFileSearchResult]


class SessionCompletedNotification(WireModel):
    session_id: str
