"""Matching rules: dotted paths, list indices, callables, predicates, and the near-miss explanation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mypy.api
import pytest

from codex_app_harness import MISSING, Matcher, NotificationTimeout
from codex_app_harness.matching import lookup
from tests.harness.conftest import FakeServer
from tests.harness.steps import notify

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


def test_match_reaches_fields_named_like_the_calls_own_parameters(fake_server: FakeServer) -> None:
    client = fake_server(
        {"notify": "limits", "params": {"timeout": 5, "where": "eu", "method": "a", "match": 1}},
        {"notify": "limits", "params": {"timeout": 30, "where": "us", "method": "b", "match": 2}},
    )
    found = client.wait_for("limits", match={"timeout": 30, "where": "us"}, timeout=5)
    assert found == {"timeout": 30, "where": "us", "method": "b", "match": 2}
    # match= and keywords combine; the keyword form still works for ordinary names.
    assert client.wait_for("limits", {"method": "a", "match": 1}, where=lambda p: p["timeout"] == 5)["where"] == "eu"
    client.assert_no("limits", match={"timeout": 5}, within=0.05)


def test_a_field_given_both_in_match_and_as_a_keyword_is_refused(fake_server: FakeServer) -> None:
    client = fake_server(notify("x", n=1))
    with pytest.raises(TypeError, match="field\\(s\\) n given both in match= and as keywords"):
        client.wait_for("x", match={"n": 1}, n=1)


def test_a_timeout_names_the_match_conditions_and_what_missed(fake_server: FakeServer) -> None:
    client = fake_server(notify("limits", timeout=5))
    with pytest.raises(NotificationTimeout) as excinfo:
        client.wait_for("limits", match={"timeout": 6}, timeout=0.2)
    assert "limits(timeout=6)" in str(excinfo.value)
    assert "but timeout is 5, wanted 6" in str(excinfo.value)


TYPED_USER_TEST = """
from typing import Any

from codex_app_harness import AsyncClient, Client, Notification


def is_done(params: dict[str, Any]) -> bool:
    return params.get("status") == "completed"


def test_waits(app_server: Client) -> None:
    params: dict[str, Any] = app_server.wait_for("turn/completed", match={"turn.id": "t1", "timeout": 5}, where=is_done)
    note: Notification = app_server.wait_for_notification("x", {"where": "eu"}, timeout=2.0, threadId="t")
    app_server.assert_no("x", match={"n": lambda n: n > 3}, within=0.1)
    request = app_server.wait_for_server_request("item/tool/call", match={"tool": "a"})
    request.respond({"ok": True})
    assert params and note.params


async def async_waits(client: AsyncClient) -> int:
    params = await client.wait_for("x", match={"timeout": 1})
    return len(params)
"""


def test_a_users_tests_calling_the_waits_pass_mypy_strict(tmp_path: Path) -> None:
    user_test = tmp_path / "test_user.py"
    user_test.write_text(TYPED_USER_TEST)
    stdout, stderr, status = mypy.api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(user_test)]
    )
    assert status == 0, stdout + stderr
    misuse = tmp_path / "test_misuse.py"
    misuse.write_text(
        "from codex_app_harness import Client\n\ndef f(c: Client) -> None:\n    c.wait_for('x', match=3)\n"
    )
    stdout, _, status = mypy.api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(misuse)]
    )
    assert status == 1, stdout
    assert 'Argument "match"' in stdout, stdout
