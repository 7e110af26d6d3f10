"""The toolchain of a target comes from the targets table; a fallback must be one the table lists."""

from __future__ import annotations

import pytest

from release import cross_answers, targets
from release.errors import ReleaseError
from release.toolchains import for_target, implementations


@pytest.mark.parametrize("target", targets.TARGETS, ids=lambda t: t.triple)
def test_each_target_gets_the_toolchain_its_row_names(target: targets.Target) -> None:
    assert for_target(target).name == target.toolchain
    assert {target.toolchain, *target.fallback_toolchains} <= set(implementations())


def test_a_listed_fallback_is_selectable_and_an_unlisted_one_is_refused() -> None:
    darwin = targets.get("aarch64-apple-darwin")
    assert for_target(darwin, "darwin-clang").name == "darwin-clang"
    with pytest.raises(ReleaseError, match="built with zig, not darwin-clang"):
        for_target(targets.get("x86_64-unknown-linux-musl"), "darwin-clang")


@pytest.mark.parametrize("target", targets.TARGETS, ids=lambda t: t.triple)
def test_every_target_names_an_answer_set_and_every_answer_says_where_it_comes_from(target: targets.Target) -> None:
    answers = cross_answers.ANSWER_SETS[target.cross_answers]
    assert answers
    assert all(a.value and len(a.source) > 10 for a in answers.values())
    assert for_target(target).configure_answers() == {k: a.value for k, a in answers.items()}
