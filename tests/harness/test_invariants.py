"""Each protocol invariant, broken by a scripted server in a real inner test session: the test fails with
the invariant's name and the transcript, and each switch (flag, marker, ini option) turns it off."""

from __future__ import annotations

import shlex
import textwrap
from dataclasses import dataclass
from typing import Any

import pytest

from codex_app_harness.invariants import InvariantChecker
from tests.harness.conftest import FakeScript, InnerPytest
from tests.harness.steps import expect, notify, on, reply, stdout

INIT_RESULT = {"userAgent": "fake/0", "codexHome": "/", "platformFamily": "unix", "platformOs": "linux"}
GRACE = ("-o", "harness_settle_grace=0.5")
"""The check waits this long for what the server owes; the broken scripts never send it."""
TURN = {"id": "turn_1", "status": "inProgress"}


@dataclass
class Breakage:
    invariant: str
    steps: tuple[dict[str, Any], ...]
    body: str
    """The inner test's body, with `app_server` in scope."""
    complaint: str
    """What the failure says about it."""


BREAKAGES = [
    Breakage(
        "answered-once",
        (expect("test/go"), reply("test/go"), stdout('{"id": 2, "result": {"again": true}}'), notify("test/done")),
        'app_server.request("test/go")\napp_server.wait_for("test/done")',
        "answered-once: second response to test/go (id 2)",
    ),
    Breakage(
        "answered-once",
        (expect("test/ignored"), notify("test/done")),
        'app_server.send_raw(\'{"id": 9, "method": "test/ignored"}\')\napp_server.wait_for("test/done")',
        "answered-once: test/ignored (id 9) was never answered",
    ),
    Breakage(
        "answered-once",
        (expect("test/a"), expect("test/b"), reply("test/a"), notify("test/done")),
        'app_server.send_raw(\'{"id": 7, "method": "test/a"}\\n{"id": 8, "method": "test/b"}\')\n'
        'app_server.wait_for("test/done")',
        "answered-once: test/b (id 8) was never answered",
    ),
    Breakage(
        "turn-completed",
        (
            notify("turn/started", threadId="thr_1", turn=TURN),
            notify("turn/completed", threadId="thr_1", turn=TURN),  # inProgress is not terminal
            notify("test/done"),
        ),
        'app_server.wait_for("test/done")',
        "turn-completed: turn 'turn_1' of thread 'thr_1' started and never completed",
    ),
    Breakage(
        "silent-after-close",
        (notify("thread/closed", threadId="thr_1"), notify("item/started", threadId="thr_1"), notify("test/done")),
        'app_server.wait_for("test/done")',
        "silent-after-close: item/started for thread 'thr_1' after its thread/closed",
    ),
    Breakage(
        "no-late-response",
        (expect("test/slow"), expect("test/next"), reply("test/slow"), reply("test/next")),
        textwrap.dedent(
            """
            from codex_app_harness import NotificationTimeout
            with pytest.raises(NotificationTimeout):
                app_server.request("test/slow", timeout=0.2)
            app_server.request("test/next")
            """
        ),
        "no-late-response: response to test/slow (id 2) arrived after the request timed out",
    ),
]


def inner_test(body: str, decorator: str = "") -> str:
    return f"import pytest\n\n{decorator}\ndef test_client(app_server):\n{textwrap.indent(body.strip(), '    ')}\n"


def server_option(fake_script: FakeScript, steps: tuple[dict[str, Any], ...]) -> str:
    return "--app-server=" + shlex.join(fake_script(on("initialize", INIT_RESULT), *steps))


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.complaint.split(":")[1][:40].strip())
def test_a_broken_invariant_fails_the_test_with_the_transcript(
    breakage: Breakage, inner_pytest: InnerPytest, fake_script: FakeScript
) -> None:
    inner_pytest.makepyfile(inner_test(breakage.body))
    option = server_option(fake_script, breakage.steps)
    result = inner_pytest.run(option, *GRACE)
    result.assert_outcomes(failed=1)
    result.fnmatch_lines(
        [
            "*harness invariants broken*",
            "*app-server #0 (*fake_server.py*",
            f"*{breakage.complaint}*",
            "*transcript, last 50 messages:*",
            '*client> {"id": 1, "method": "initialize"*',
        ]
    )
    # The same session with that invariant off passes: each one has its own switch.
    inner_pytest.run(option, *GRACE, f"--harness-invariants-off={breakage.invariant}").assert_outcomes(passed=1)
    others = ",".join(b.invariant for b in BREAKAGES if b.invariant != breakage.invariant)
    inner_pytest.run(option, *GRACE, f"--harness-invariants-off={others}").assert_outcomes(failed=1)


def test_a_marker_turns_an_invariant_off_for_one_test(inner_pytest: InnerPytest, fake_script: FakeScript) -> None:
    body = 'app_server.wait_for("test/done")'
    inner_pytest.makepyfile(
        inner_test(body, '@pytest.mark.harness_invariants_off("turn-completed")')
        + inner_test(body).replace("test_client", "test_checked").split("import pytest\n", 1)[1]
    )
    steps = (notify("turn/started", threadId="thr_1", turn=TURN), notify("test/done"))
    result = inner_pytest.run(server_option(fake_script, steps), *GRACE, "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.fnmatch_lines(["*test_client PASSED*", "*test_checked FAILED*"])


def test_the_ini_option_turns_invariants_off_for_a_project(inner_pytest: InnerPytest, fake_script: FakeScript) -> None:
    (inner_pytest.directory / "pytest.ini").write_text("[pytest]\nharness_invariants_off =\n    silent-after-close\n")
    inner_pytest.makepyfile(inner_test('app_server.wait_for("test/done")'))
    steps = (notify("thread/closed", threadId="thr_1"), notify("item/started", threadId="thr_1"), notify("test/done"))
    inner_pytest.run(server_option(fake_script, steps)).assert_outcomes(passed=1)


def test_a_server_that_keeps_them_passes(inner_pytest: InnerPytest, fake_script: FakeScript) -> None:
    """Completed turns, a thread that is resumed after closing, and one answer per request break nothing."""
    steps = (
        notify("turn/started", threadId="thr_1", turn=TURN),
        notify("turn/completed", threadId="thr_1", turn={**TURN, "status": "interrupted"}),
        notify("thread/closed", threadId="thr_1"),
        expect("thread/resume"),
        reply("thread/resume", {"thread": {"id": "thr_1"}}),
        notify("item/started", threadId="thr_1"),
    )
    body = 'app_server.request("thread/resume", {"threadId": "thr_1"})\napp_server.wait_for("item/started")'
    inner_pytest.makepyfile(inner_test(body))
    inner_pytest.run(server_option(fake_script, steps)).assert_outcomes(passed=1)


def test_an_unknown_invariant_name_is_a_usage_error(inner_pytest: InnerPytest) -> None:
    inner_pytest.makepyfile("def test_nothing():\n    pass\n")
    result = inner_pytest.run("--harness-invariants-off=answered-twice")
    assert result.returncode == 4, result.output
    result.fnmatch_lines(["*unknown invariant answered-twice; known: answered-once*"])


def test_a_turn_completed_under_its_root_id_closes_the_turn_started_beneath_it() -> None:
    """Upstream's review turn: turn/started carries its own id and rootTurnId; turn/completed the root's."""
    checker = InvariantChecker()
    started = {"id": "turn_child", "rootTurnId": "turn_root", "status": "inProgress"}
    checker.notification("turn/started", {"threadId": "thr_1", "turn": started})
    assert not checker.settled()
    checker.notification("turn/completed", {"threadId": "thr_1", "turn": {"id": "turn_root", "status": "completed"}})
    assert checker.settled()
    assert checker.unfinished() == []


def test_completing_another_root_leaves_the_turn_open() -> None:
    checker = InvariantChecker()
    started = {"id": "turn_child", "rootTurnId": "turn_root", "status": "inProgress"}
    checker.notification("turn/started", {"threadId": "thr_1", "turn": started})
    checker.notification("turn/completed", {"threadId": "thr_1", "turn": {"id": "turn_other", "status": "completed"}})
    assert [violation.invariant for violation in checker.unfinished()] == ["turn-completed"]
