"""defaultPrompt normalisation: upstream's table, then the invariants for any JSON a manifest may hold."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.plugins.prompts import MAX_CHARS, MAX_ENTRIES, normalise_default_prompt
from tests.integration.plugin_layout import DEFAULT_PROMPT_TABLE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *DEFAULT_PROMPT_TABLE,
        (None, None),
        (3, None),
    ],
)
def test_upstream_table(raw: Any, expected: list[str] | None) -> None:
    assert normalise_default_prompt(raw) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
prompts = st.text(max_size=MAX_CHARS + 40)


def is_subsequence(part: list[str], whole: list[Any]) -> bool:
    remaining = iter(whole)
    return all(any(item is candidate for candidate in remaining) for item in part)


@given(json_values)
def test_result_is_null_or_a_short_list_of_usable_prompts(raw: Any) -> None:
    result = normalise_default_prompt(raw)
    if result is None:
        return
    assert 1 <= len(result) <= MAX_ENTRIES
    assert all(isinstance(entry, str) and entry.strip() and len(entry) <= MAX_CHARS for entry in result)


@given(st.lists(st.one_of(prompts, st.integers(), st.none()), max_size=8))
def test_list_keeps_the_first_usable_entries_in_order(raw: list[Any]) -> None:
    usable = [entry for entry in raw if isinstance(entry, str) and entry.strip() and len(entry) <= MAX_CHARS]
    result = normalise_default_prompt(raw)
    assert result == (usable[:MAX_ENTRIES] or None)
    assert result is None or is_subsequence(result, raw)


@given(prompts)
def test_a_string_is_a_one_entry_list_or_null(raw: str) -> None:
    expected = [raw] if raw.strip() and len(raw) <= MAX_CHARS else None
    assert normalise_default_prompt(raw) == expected


@given(json_values)
def test_normalising_twice_changes_nothing(raw: Any) -> None:
    once = normalise_default_prompt(raw)
    assert normalise_default_prompt(once) == once
