"""Wire shapes of fuzzy file search without pydantic (upstream schema: FuzzyFileSearch*, top level, not v2).

A fresh process asked for a first search must not wait ~140 ms for pydantic and its models before it
can even start walking: params go through server.protocol.plain, falling back to the pydantic models of
server.protocol.search.

Result items keep upstream's snake_case keys (`file_name`, `match_type`) in upstream's key order; every
other shape is camelCase like the rest of the protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server.protocol.plain import is_str, is_str_list, is_str_or_null, plain_parser


class Match(Protocol):
    """What a result item is made of (server.search.matcher.Match has it); named here, below the domain."""

    @property
    def root(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def file_name(self) -> str: ...
    @property
    def is_dir(self) -> bool: ...
    @property
    def score(self) -> int: ...
    @property
    def indices(self) -> list[int]: ...


@dataclass(frozen=True, slots=True)
class FuzzyFileSearchParams:
    query: str
    roots: list[str]
    """Plain strings: a relative or missing root yields no results rather than an error, as upstream."""
    cancellation_token: str | None = None


@dataclass(frozen=True, slots=True)
class SessionStartParams:
    session_id: str
    roots: list[str]


@dataclass(frozen=True, slots=True)
class SessionUpdateParams:
    session_id: str
    query: str


@dataclass(frozen=True, slots=True)
class SessionStopParams:
    session_id: str


parse_search = plain_parser(
    "fuzzyFileSearch",
    FuzzyFileSearchParams,
    "server.protocol.search:FuzzyFileSearchParams",
    {"query": is_str, "roots": is_str_list},
    {"cancellationToken": is_str_or_null},
)
parse_session_start = plain_parser(
    "fuzzyFileSearch/sessionStart",
    SessionStartParams,
    "server.protocol.search:SessionStartParams",
    {"sessionId": is_str, "roots": is_str_list},
)
parse_session_update = plain_parser(
    "fuzzyFileSearch/sessionUpdate",
    SessionUpdateParams,
    "server.protocol.search:SessionUpdateParams",
    {"sessionId": is_str, "query": is_str},
)
parse_session_stop = plain_parser(
    "fuzzyFileSearch/sessionStop", SessionStopParams, "server.protocol.search:SessionStopParams", {"sessionId": is_str}
)


def results(matches: Sequence[Match]) -> list[dict[str, Any]]:
    """FuzzyFileSearchResult items, in upstream's key order."""
    return [
        {
            "root": match.root,
            "path": match.path,
            "match_type": "directory" if match.is_dir else "file",
            "file_name": match.file_name,
            "score": match.score,
            "indices": match.indices,
        }
        for match in matches
    ]


def session_updated(session_id: str, query: str, matches: Sequence[Match]) -> dict[str, Any]:
    return {"sessionId": session_id, "query": query, "files": results(matches)}


def session_completed(session_id: str) -> dict[str, Any]:
    return {"sessionId": session_id}
