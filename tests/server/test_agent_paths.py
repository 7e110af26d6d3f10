"""Agent path rules: names the model may choose, and what absolute and relative targets resolve to."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.threads.agents import ROOT, Agent, AgentPathError, agent_message, child_path, resolve, validate_name

names = st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True)
paths = st.lists(names, max_size=4).map(lambda segments: "/".join([ROOT, *segments]))


@given(paths, names)
def test_a_relative_name_is_below_the_caller(caller: str, name: str) -> None:
    assert resolve(caller, name) == f"{caller}/{name}"


@given(paths, paths)
def test_an_absolute_path_resolves_to_itself_from_anywhere(caller: str, target: str) -> None:
    assert resolve(caller, target) == target


@given(paths, st.lists(names, min_size=1, max_size=3))
def test_a_relative_path_of_several_segments_descends(caller: str, segments: list[str]) -> None:
    assert resolve(caller, "/".join(segments)) == "/".join([caller, *segments])


@given(paths, names)
def test_a_spawned_child_is_addressable_both_ways(parent: str, name: str) -> None:
    path = child_path(parent, name)
    assert resolve(parent, name) == resolve(ROOT, path) == path


@given(
    st.text(min_size=1, max_size=12).filter(lambda s: not all(c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in s))
)
def test_names_outside_the_alphabet_are_refused(name: str) -> None:
    with pytest.raises(AgentPathError):
        validate_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad/name", "agent_name must not contain `/`"),
        ("..", "agent_name `..` is reserved"),
        (".", "agent_name `.` is reserved"),
        ("", "agent_name must not be empty"),
        ("Agent-Caps", "agent_name must use only lowercase letters, digits, and underscores"),
    ],
)
def test_invalid_names_say_why(name: str, message: str) -> None:
    with pytest.raises(AgentPathError) as excinfo:
        child_path(ROOT, name)
    assert str(excinfo.value) == message


@pytest.mark.parametrize("target", ["../agent_2", "agent_1/../x", "a//b", "/root/", "/root//x"])
def test_no_navigation_and_no_empty_segments(target: str) -> None:
    with pytest.raises(AgentPathError):
        resolve("/root/agent_1", target)


def test_an_absolute_path_outside_the_root_is_not_found() -> None:
    with pytest.raises(AgentPathError) as excinfo:
        resolve(ROOT, "/elsewhere")
    assert str(excinfo.value) == "live agent path `/elsewhere` not found"


def test_task_messages_carry_the_payload_as_encrypted_content() -> None:
    message = agent_message("NEW_TASK", ROOT, "/root/a", "TASK")
    assert message["content"] == [
        {"type": "input_text", "text": "Message Type: NEW_TASK\nTask name: /root/a\nSender: /root\nPayload:\n"},
        {"type": "encrypted_content", "encrypted_content": "TASK"},
    ]
    answer = agent_message("FINAL_ANSWER", "/root/a", ROOT, "done")
    assert answer["content"] == [
        {"type": "input_text", "text": "Message Type: FINAL_ANSWER\nTask name: /root\nSender: /root/a\nPayload:\ndone"}
    ]


def test_mail_that_arrived_before_a_wait_ends_it_at_once() -> None:
    async def scenario() -> tuple[bool, bool]:
        agent = Agent(ROOT, thread=None, parent=None)  # type: ignore[arg-type]
        agent.post({"type": "agent_message"})
        agent.take_mail()
        first = await agent.wait_for_mail(5)
        second = await agent.wait_for_mail(0.01)
        return first, second

    assert asyncio.run(scenario()) == (True, False)
