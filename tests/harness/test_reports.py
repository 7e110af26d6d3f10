"""What a failed test's report carries: the transcript's tail, the server's stderr, the chaos seed and a
rerun command that reproduces the failure; `--harness-chaos=last` reuses the previous run's seed."""

from __future__ import annotations

import re
import shlex
import subprocess

from tests.harness.conftest import FakeScript, InnerPytest
from tests.harness.steps import notify, on, stderr

INIT_RESULT = {"userAgent": "fake/0", "codexHome": "/", "platformFamily": "unix", "platformOs": "linux"}
FAILING = """
import pytest

@pytest.mark.parametrize("n", [1, 2])
def test_expects_a_notification_that_never_comes(app_server, n):
    app_server.wait_for("item/started", match={"threadId": "thr_1"}, timeout=0.5)
"""


def seeds(output: str) -> set[str]:
    return set(re.findall(r"chaos seed (\d+) \(rerun with --harness-chaos=\1\)", output))


def test_a_failure_report_has_transcript_stderr_seed_and_a_rerun_command_that_reproduces_it(
    inner_pytest: InnerPytest, fake_script: FakeScript
) -> None:
    inner_pytest.makepyfile(FAILING)
    steps = (on("initialize", INIT_RESULT), notify("item/started", threadId="thr_2"), stderr("server: warming up"))
    server = shlex.join(fake_script(*steps))
    result = inner_pytest.run(f"--app-server={server}", "--harness-chaos=41", "-k", "1")
    result.assert_outcomes(failed=1)
    result.fnmatch_lines(
        [
            "*- app-server #0 transcript (last 3 messages) -*",
            '+0.*s client> {"id": 1, "method": "initialize"*',
            '+0.*s <server {"*',
            "*- app-server #0 stderr -*",
            "server: warming up",
            "*- harness chaos -*",
            "chaos seed 41 (rerun with --harness-chaos=41)",
            "*- harness rerun -*",
            # (fnmatch: "[[]" is a literal "[")
            f"cd {shlex.quote(str(inner_pytest.directory))} && * -m pytest "
            "'test_inner.py::test_expects_a_notification_that_never_comes[[]1]' *--app-server=* --harness-chaos=41",
        ]
    )
    assert '<server {"method": "item/started", "params": {"threadId": "thr_2"}}' in result.output
    lines = result.output.splitlines()
    command = lines[next(i for i, line in enumerate(lines) if "- harness rerun -" in line) + 1]
    rerun = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "1 failed" in rerun.stdout, rerun.stdout
    assert "timed out after 0.5s waiting for item/started(threadId='thr_1')" in rerun.stdout
    assert seeds(rerun.stdout) == {"41"}


def test_chaos_last_reruns_the_previous_seed_and_xdist_workers_share_one(
    inner_pytest: InnerPytest, fake_script: FakeScript
) -> None:
    inner_pytest.makepyfile(FAILING)
    server = "--app-server=" + shlex.join(fake_script(on("initialize", INIT_RESULT)))
    first = inner_pytest.run(server, "--harness-chaos", "-n", "2", "-p", "xdist", cache=True)
    first.assert_outcomes(failed=2)
    (seed,) = seeds(first.output)  # one random seed for the run, though two workers drew none of their own
    again = inner_pytest.run(server, "--harness-chaos=last", cache=True)
    again.assert_outcomes(failed=2)
    assert seeds(again.output) == {seed}
    again.fnmatch_lines([f"app-server: *, chaos seed: {seed}"])


def test_chaos_last_without_the_cache_says_what_to_do(inner_pytest: InnerPytest) -> None:
    inner_pytest.makepyfile("def test_nothing():\n    pass\n")
    result = inner_pytest.run("--harness-chaos=last")  # the inner runs use -p no:cacheprovider, as our CI does
    assert result.returncode == 4, result.output
    result.fnmatch_lines(["*--harness-chaos=last reads the previous seed from pytest's cache, which is off*"])
    empty = inner_pytest.run("--harness-chaos=last", cache=True)
    assert empty.returncode == 4, empty.output
    empty.fnmatch_lines(["*no previous chaos run in pytest's cache*"])
