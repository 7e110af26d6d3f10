"""Judging zsh's `make check`: per-script results against the one list of expected musl failures."""

from __future__ import annotations

from release.zsh import check

OUTPUT = """
../../Test/A01grammar.ztst: starting.
codex-ztst-result A01grammar 0
codex-ztst-result A03quoting 1
codex-ztst-result V07pcre 2
codex-ztst-result V09datetime 1
"""


def test_results_are_read_per_script() -> None:
    outcome = check.parse(OUTPUT)
    assert outcome.passed == ["A01grammar"]
    assert outcome.skipped == ["V07pcre"]
    assert outcome.failed == ["A03quoting", "V09datetime"]


def test_listed_musl_failures_are_expected() -> None:
    assert check.parse(OUTPUT).unexpected == []


def test_any_other_failure_is_unexpected() -> None:
    outcome = check.parse(OUTPUT + "codex-ztst-result A05execution 1\n")
    assert outcome.unexpected == ["A05execution"]
    assert "1 unexpected failures (A05execution)" in outcome.summary()


def test_an_expected_failure_that_passes_is_reported() -> None:
    outcome = check.parse("codex-ztst-result B03print 0\n")
    assert outcome.fixed == ["B03print"]
    assert "expected to fail but passed: B03print" in outcome.summary()


def test_every_expected_failure_has_a_reason() -> None:
    assert all(reason.strip() for reason in check.EXPECTED_FAILURES.values())
