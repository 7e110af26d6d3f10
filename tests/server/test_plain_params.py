"""Params parsed without pydantic (server.protocol.plain): plainly valid params give what the pydantic
model gives, and anything else gets the model's own rejection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.handlers import config_read, thread_reads
from server.protocol import config, search, search_wire, threads
from server.protocol.base import WireModel, params_parser, upstream_params_type
from server.protocol.errors import RpcError

values = st.one_of(
    st.text(max_size=4),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
)
SEARCH_KEYS = ["query", "roots", "cancellationToken", "cancellation_token", "sessionId", "session_id"]
THREAD_KEYS = ["cursor", "limit", "sourceKinds", "source_kinds", "archived", "threadId", "includeTurns"]
keys = st.sampled_from([*SEARCH_KEYS, *THREAD_KEYS, "cwd", "includeLayers", "include_layers", "x"])
raws = st.one_of(
    st.dictionaries(keys, values, max_size=4), st.lists(values, max_size=3), st.none(), st.integers(), st.text()
)

PARSERS: list[tuple[str, Callable[[Any], Any], type[WireModel]]] = [
    ("fuzzyFileSearch", search_wire.parse_search, search.FuzzyFileSearchParams),
    ("fuzzyFileSearch/sessionStart", search_wire.parse_session_start, search.SessionStartParams),
    ("fuzzyFileSearch/sessionUpdate", search_wire.parse_session_update, search.SessionUpdateParams),
    ("fuzzyFileSearch/sessionStop", search_wire.parse_session_stop, search.SessionStopParams),
    ("config/read", config_read.parse_params, config.ConfigReadParams),
    ("thread/list", thread_reads.parse_list_params, threads.ThreadListParams),
    ("thread/read", thread_reads.parse_read_params, threads.ThreadReadParams),
]


def _outcome(parse: Callable[[Any], Any], raw: Any) -> Any:
    try:
        parsed = parse(raw)
    except RpcError as exc:
        return (exc.code, str(exc))
    return parsed.model_dump() if hasattr(parsed, "model_dump") else {k: getattr(parsed, k) for k in parsed.__slots__}


@pytest.mark.parametrize(("method", "light", "model"), PARSERS, ids=[method for method, _, _ in PARSERS])
@given(raw=raws)
def test_the_light_parsers_agree_with_the_models(
    method: str, light: Callable[[Any], Any], model: type[WireModel], raw: Any
) -> None:
    assert _outcome(light, raw) == _outcome(params_parser(model, upstream_params_type(method, model)), raw)


def test_plain_params_skip_the_model() -> None:
    parsed = search_wire.parse_search({"query": "ab", "roots": ["/r"], "cancellationToken": None})
    assert parsed == search_wire.FuzzyFileSearchParams("ab", ["/r"], None)
