"""Matching rules: dotted paths, list indices, callables, predicates, and the near-miss explanation."""

from __future__ import annotations

from typing import Any

from codex_app_harness import MISSING, Matcher
from codex_app_harness.matching import lookup

PAYLOAD: dict[str, Any] = {
    "threadId": "t1",
    "item": {"type": "commandExecution", "id": "i1", "exitCode": None},
    "changes": [{"path": "/a"}, {"path": "/b"}],
}


def test_lookup_follows_dotted_paths_and_list_indices() -> None:
    assert lookup(PAYLOAD, "item.type") == "commandExecution"
    assert lookup(PAYLOAD, "changes.1.path") == "/b"
    assert lookup(PAYLOAD, "changes.-1.path") == "/b"


def test_lookup_tells_a_missing_key_from_a_present_null() -> None:
    assert lookup(PAYLOAD, "item.exitCode") is None
    assert lookup(PAYLOAD, "item.nope") is MISSING
    assert lookup(PAYLOAD, "changes.5.path") is MISSING
    assert lookup(PAYLOAD, "threadId.deeper") is MISSING


def test_all_field_conditions_must_hold() -> None:
    assert Matcher("m", {"threadId": "t1", "item.type": "commandExecution"}).matches(PAYLOAD)
    assert not Matcher("m", {"threadId": "t1", "item.type": "agentMessage"}).matches(PAYLOAD)


def test_a_callable_field_value_is_applied_to_the_value_found() -> None:
    assert Matcher("m", {"changes": lambda changes: len(changes) == 2}).matches(PAYLOAD)
    assert not Matcher("m", {"item.id": str.isdigit}).matches(PAYLOAD)


def test_missing_as_a_field_value_requires_absence() -> None:
    assert Matcher("m", {"error": MISSING}).matches(PAYLOAD)
    assert not Matcher("m", {"threadId": MISSING}).matches(PAYLOAD)


def test_a_predicate_that_raises_on_another_shape_does_not_match() -> None:
    def has_exit_zero(params: dict[str, Any]) -> bool:
        return bool(params["result"]["exitCode"] == 0)

    assert not Matcher("m", {}, has_exit_zero).matches(PAYLOAD)
    assert Matcher("m", {}, has_exit_zero).misses(PAYLOAD) == ["where=has_exit_zero raised KeyError('result')"]


def test_misses_name_each_unmet_condition_with_the_value_found() -> None:
    matcher = Matcher("m", {"threadId": "t1", "item.type": "agentMessage", "turn.id": "x"})
    assert matcher.misses(PAYLOAD) == [
        "item.type is 'commandExecution', wanted 'agentMessage'",
        "turn.id is <missing>, wanted 'x'",
    ]


def test_closest_prefers_fewest_misses_then_the_latest() -> None:
    matcher = Matcher("m", {"a": 1, "b": 2})
    first, second, third = {"a": 0, "b": 0}, {"a": 1, "b": 0}, {"a": 0, "b": 2}
    closest = matcher.closest([first, second, third])
    assert closest is not None
    assert closest[0] is third
    assert closest[1] == ["a is 0, wanted 1"]


def test_describe_shows_fields_and_predicate_names() -> None:
    def final(_params: dict[str, Any]) -> bool:
        return True

    assert (
        Matcher("item/completed", {"item.type": "x"}, final).describe() == "item/completed(item.type='x', where=final)"
    )
