"""pydantic models of fuzzy file search params, only for params that server.protocol.search_wire does not
take as they are: validating them here gives every rejection upstream's wording."""

from __future__ import annotations

from server.protocol.base import WireModel


class FuzzyFileSearchParams(WireModel):
    query: str
    roots: list[str]
    cancellation_token: str | None = None


class SessionStartParams(WireModel):
    session_id: str
    roots: list[str]


class SessionUpdateParams(WireModel):
    session_id: str
    query: str


class SessionStopParams(WireModel):
    session_id: str
