"""server.threads.items against upstream's generated schema: every item kind we build is a `ThreadItem`
variant with exactly upstream's fields, every literal we may send is one upstream accepts, and what each
constructor returns validates. A field upstream adds, renames or retypes fails here, not in a client."""

from __future__ import annotations

import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from server.threads import items

ITEM_TYPES: tuple[type, ...] = typing.get_args(items.ThreadItem)


def definitions(schema_dir: Path) -> dict[str, Any]:
    """The definitions a turn's notifications use (Turn, ThreadItem and all they refer to)."""
    schema = json.loads((schema_dir / "v2" / "TurnCompletedNotification.json").read_text())
    defs: dict[str, Any] = schema["definitions"]
    return defs


def variants(schema_dir: Path) -> dict[str, dict[str, Any]]:
    """ThreadItem's variants by their `type` tag."""
    found: dict[str, dict[str, Any]] = {}
    for variant in definitions(schema_dir)["ThreadItem"]["oneOf"]:
        (tag,) = variant["properties"]["type"]["enum"]
        found[tag] = variant
    return found


def validator(schema_dir: Path, schema: dict[str, Any] | bool) -> Draft7Validator:
    """`schema` with the definitions it may refer to; `true` (any value) stays as it is."""
    if isinstance(schema, bool):
        return Draft7Validator(schema)
    return Draft7Validator({**schema, "definitions": definitions(schema_dir)})


def tag_of(item_type: type) -> str:
    (tag,) = typing.get_args(typing.get_type_hints(item_type)["type"])
    return str(tag)


def literal_values(annotation: Any) -> list[Any]:
    """The values a field annotated with a Literal (or an optional one) may hold; [] for other types."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [value for arg in typing.get_args(annotation) for value in literal_values(arg)]
    return []


SAMPLE_COMMAND = items.command_execution("call_1", "ls", "/tmp", "agent")
SAMPLE_TOOL_CALL = items.dynamic_tool_call("call_2", "ns", "lookup", {"q": 1})
SAMPLE_WAIT = items.wait_call("call_3", "019a0000-0000-7000-8000-000000000000")
CONSTRUCTED: dict[str, Any] = {
    "user_message": items.user_message(["hello", "again"]),
    "agent_message": items.agent_message("msg_1", "hi"),
    "reasoning": items.reasoning("rs_1", ["thinking"]),
    "command_execution": SAMPLE_COMMAND,
    "command_declined": items.command_declined(SAMPLE_COMMAND),
    "command_finished": items.command_finished(SAMPLE_COMMAND, output="x\n", exit_code=1, duration_ms=3),
    "dynamic_tool_call": SAMPLE_TOOL_CALL,
    "dynamic_tool_finished": items.dynamic_tool_finished(
        SAMPLE_TOOL_CALL, content=[{"type": "inputText", "text": "ok"}], success=True, duration_ms=2
    ),
    "hook_prompt": items.hook_prompt([{"text": "keep going", "hookRunId": "stop:0:/x"}]),
    "wait_call": SAMPLE_WAIT,
    "wait_finished": items.wait_finished(SAMPLE_WAIT),
    "sub_agent_activity": items.sub_agent_activity("sa_1", "started", "019a", "/root/worker", "gpt", "high"),
    "context_compaction": items.context_compaction(),
    "entered_review_mode": items.entered_review_mode("current changes"),
    "exited_review_mode": items.exited_review_mode("looks fine"),
}
"""One output of every item constructor in server.threads.items."""


def item_constructors() -> list[str]:
    """The functions of server.threads.items that return a ThreadItem variant."""
    names = []
    for name, function in inspect.getmembers(items, inspect.isfunction):
        if function.__module__ == items.__name__ and typing.get_type_hints(function).get("return") in ITEM_TYPES:
            names.append(name)
    return names


def test_every_item_constructor_has_a_sample_checked_here() -> None:
    assert sorted(item_constructors()) == sorted(CONSTRUCTED)


@pytest.mark.parametrize("item_type", ITEM_TYPES, ids=lambda t: t.__name__)
def test_item_fields_are_upstreams(schema_dir: Path, item_type: type) -> None:
    variant = variants(schema_dir).get(tag_of(item_type))
    assert variant is not None, f"{tag_of(item_type)} is not a ThreadItem variant upstream knows"
    ours = set(typing.get_type_hints(item_type))
    assert ours == set(variant["properties"]), "we send every field upstream has, and only those"


@pytest.mark.parametrize("item_type", ITEM_TYPES, ids=lambda t: t.__name__)
def test_every_literal_we_may_send_is_accepted_by_upstream(schema_dir: Path, item_type: type) -> None:
    variant = variants(schema_dir)[tag_of(item_type)]
    for field, annotation in typing.get_type_hints(item_type).items():
        check = validator(schema_dir, variant["properties"][field])
        for value in literal_values(annotation):
            assert check.is_valid(value), f"{item_type.__name__}.{field} = {value!r} is not upstream's"


@pytest.mark.parametrize("name", sorted(CONSTRUCTED))
def test_constructed_item_validates(schema_dir: Path, name: str) -> None:
    item = CONSTRUCTED[name]
    errors = [error.message for error in validator(schema_dir, {"$ref": "#/definitions/ThreadItem"}).iter_errors(item)]
    assert errors == [], f"items.{name}() builds {item}"


def test_turn_fields_and_shape_are_upstreams(schema_dir: Path) -> None:
    schema = definitions(schema_dir)["Turn"]
    assert set(typing.get_type_hints(items.Turn)) == set(schema["properties"])
    turn = items.turn()
    turn["items"] = list(CONSTRUCTED.values())
    errors = [error.message for error in validator(schema_dir, schema).iter_errors(turn)]
    assert errors == []
    for status in literal_values(typing.get_type_hints(items.Turn)["status"]):
        assert validator(schema_dir, schema["properties"]["status"]).is_valid(status)
