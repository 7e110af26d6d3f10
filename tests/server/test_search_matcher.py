"""Ranking on a fixed set of entries: tiers, ties, indices, caps, several atoms and several roots."""

from __future__ import annotations

import itertools
import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.search import matcher
from server.search.index import Listing, Snapshot, listing
from server.search.matcher import Match, Superseded, narrows, search
from server.search.walker import DirNode

TREE = [
    ("src", "src", True),
    ("src/render", "render", True),
    ("src/render.rs", "render.rs", False),
    ("src/renderer_pool.rs", "renderer_pool.rs", False),
    ("src/config_render.rs", "config_render.rs", False),
    ("src/prerender.rs", "prerender.rs", False),
    ("render_docs/index.md", "index.md", False),
    ("render_docs", "render_docs", True),
    ("lib/r_e_n_d_e_r.txt", "r_e_n_d_e_r.txt", False),
    ("lib", "lib", True),
    ("docs/README.md", "README.md", False),
    ("lib/render", "render", True),
]


def run(query: str, entries: list[tuple[str, str, bool]] = TREE, limit: int = 50) -> list[Match]:
    return search([("/root", (Snapshot.build(entries),))], query, limit)


def paths(query: str) -> list[str]:
    return [match.path for match in run(query)]


def test_exact_name_then_prefix_then_word_then_substring_then_path_then_subsequence() -> None:
    assert paths("render") == [
        "lib/render",  # exact name; equal scores, so by path
        "src/render",
        "src/render.rs",  # name prefix, shorter names first
        "render_docs",
        "src/renderer_pool.rs",
        "src/config_render.rs",  # starts a word of the name
        "src/prerender.rs",  # inside the name
        "render_docs/index.md",  # only the path holds it
        "lib/r_e_n_d_e_r.txt",  # scattered
    ]


def test_scores_strictly_follow_the_order_and_ties_are_by_path() -> None:
    matches = run("render")
    for earlier, later in itertools.pairwise(matches):
        assert earlier.score > later.score or (earlier.score == later.score and earlier.path < later.path)
    exact = [match for match in matches if match.file_name == "render"]
    assert exact[0].score == exact[1].score
    assert all(0 <= match.score < 2**32 for match in matches)


def test_indices_point_at_the_matched_characters_of_the_path() -> None:
    by_path = {match.path: match.indices for match in run("render")}
    assert by_path["src/render.rs"] == [4, 5, 6, 7, 8, 9]
    assert by_path["src/config_render.rs"] == [11, 12, 13, 14, 15, 16]
    assert by_path["render_docs/index.md"] == [0, 1, 2, 3, 4, 5]
    scattered = by_path["lib/r_e_n_d_e_r.txt"]
    assert "".join("lib/r_e_n_d_e_r.txt"[i] for i in scattered) == "render"


def test_matching_ignores_case_and_reports_original_names() -> None:
    matches = run("readme")
    assert [(match.path, match.file_name, match.indices) for match in matches] == [
        ("docs/README.md", "README.md", [5, 6, 7, 8, 9, 10])
    ]


def test_directories_are_reported_as_such() -> None:
    kinds = {match.path: match.is_dir for match in run("render")}
    assert kinds["src/render"] is True
    assert kinds["src/render.rs"] is False


def test_query_with_a_slash_matches_across_directories() -> None:
    assert paths("src/ren") == [
        "src/render",
        "src/render.rs",
        "src/renderer_pool.rs",
        "src/prerender.rs",  # only as a subsequence: s-r-c-/ then r-e-n in the name
        "src/config_render.rs",
    ]


def test_whitespace_separates_atoms_that_must_all_match() -> None:
    assert paths("ren pool") == ["src/renderer_pool.rs"]
    indices = run("ren pool")[0].indices
    assert "".join("src/renderer_pool.rs"[i] for i in indices) == "renpool"


def test_empty_and_blank_queries_find_nothing() -> None:
    assert paths("") == []
    assert paths("   ") == []


def test_no_match_is_empty() -> None:
    assert paths("zzzzqqq") == []


def test_results_are_capped() -> None:
    entries = [(f"d/file{i:03}.txt", f"file{i:03}.txt", False) for i in range(200)]
    assert len(run("file", entries)) == 50
    assert len(run("file", entries, limit=7)) == 7


def test_cap_keeps_the_best_across_several_snapshots_and_roots() -> None:
    first = Snapshot.build([(f"x/file{i:03}.txt", f"file{i:03}.txt", False) for i in range(60)])
    second = Snapshot.build([("file", "file", False), ("y/profile.txt", "profile.txt", False)])
    matches = search([("/one", (first,)), ("/two", (second,))], "file", 50)
    assert len(matches) == 50
    assert (matches[0].root, matches[0].path) == ("/two", "file")
    assert "y/profile.txt" not in {match.path for match in matches}


def test_the_same_root_twice_reports_each_match_twice_like_upstream() -> None:
    snapshot = Snapshot.build([("a.txt", "a.txt", False)])
    matches = search([("/r", (snapshot,)), ("/r", (snapshot,))], "a.txt", 50)
    assert [(match.root, match.path) for match in matches] == [("/r", "a.txt"), ("/r", "a.txt")]


def test_names_with_newlines_and_length_changing_case_keep_positions() -> None:
    entries = [("we\nird.txt", "we\nird.txt", False), ("İstanbul.txt", "İstanbul.txt", False)]
    assert [match.path for match in run("ird", entries)] == ["we\nird.txt"]
    match = run("stan", entries)[0]
    assert match.path == "İstanbul.txt"
    assert match.indices == [1, 2, 3, 4]


def test_a_superseded_search_stops_instead_of_answering() -> None:
    view = (Snapshot.build([("src/render.rs", "render.rs", False)]),)
    with pytest.raises(Superseded):
        search([("/r", view)], "render", superseded=lambda: True)


def test_only_extending_queries_narrow() -> None:
    assert narrows(["ren"], ["render"])
    assert narrows(["rd"], ["src", "render"])
    assert not narrows(["render"], ["ren"])
    assert not narrows(["render", "x"], ["render"])


def nodes_of(entries: list[tuple[str, str, bool]]) -> list[DirNode]:
    """Directory nodes holding the entries, as a walk keeps them (only what a listing reads is filled)."""
    nodes: dict[str, DirNode] = {}
    for path, name, is_dir in entries:
        parent = posixpath.dirname(path)
        node = nodes.get(parent)
        if node is None:
            node = nodes[parent] = DirNode(parent, (0, 0), 0, False, None, None, (), ())  # type: ignore[arg-type]
        (node.dirs if is_dir else node.files).append(name)
    return list(nodes.values())


def test_a_listing_scanned_or_ranked_answers_like_a_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    part = listing(nodes_of(TREE))
    assert isinstance(part, Listing)
    monkeypatch.setattr(matcher, "SCAN_SHARE", 1)  # every atom is rare enough to scan
    for query in ("render", "r", "rndr", "src ren", "docs/r", "zzz", "e_n", "README"):
        scanned = search([("/root", (part,))], query, 4)
        assert part.raw is not None, "a scan must not rank the listing"
        assert scanned == run(query, limit=4), query
    monkeypatch.setattr(matcher, "SCAN_SHARE", 10**9)  # no atom is: the listing ranks itself
    assert search([("/root", (part,))], "render") == run("render")
    assert part.raw is None


def test_a_listing_of_names_that_need_careful_lower_casing_is_a_snapshot() -> None:
    entries = [("we\nird.txt", "we\nird.txt", False), ("İstanbul.txt", "İstanbul.txt", False)]
    assert isinstance(listing(nodes_of(entries)), Snapshot)


NAME = st.text(alphabet="abrRe_-. ", min_size=1, max_size=6)


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, str, bool]]:
    directories = draw(st.lists(st.lists(NAME, min_size=1, max_size=3).map("/".join), max_size=6))
    entries: dict[str, bool] = {}
    for directory in directories:
        parts = directory.split("/")
        for depth in range(1, len(parts) + 1):
            entries["/".join(parts[:depth])] = True
    parents = ["", *entries]
    for _ in range(draw(st.integers(0, 30))):
        parent = draw(st.sampled_from(parents))
        path = posixpath.join(parent, draw(NAME))
        entries.setdefault(path, False)
    return [(path, posixpath.basename(path), is_dir) for path, is_dir in entries.items()]


@settings(max_examples=300, deadline=None)
@given(
    trees(), st.lists(st.text(alphabet="abrRe_-./", min_size=1, max_size=4), min_size=1, max_size=3), st.integers(1, 6)
)
def test_scanning_a_listing_ranks_exactly_like_a_snapshot(
    entries: list[tuple[str, str, bool]], query_atoms: list[str], limit: int
) -> None:
    """Ties, limits, tiers and subsequences: the scan must pick and order what the early-stopping rank does."""
    query = " ".join(query_atoms)
    part = listing(nodes_of(entries))
    original = matcher.SCAN_SHARE
    matcher.SCAN_SHARE = 1
    try:
        scanned = search([("/root", (part,))], query, limit)
    finally:
        matcher.SCAN_SHARE = original
    assert scanned == run(query, entries, limit)


def test_a_memo_answers_a_part_again_and_keeps_only_the_parts_last_searched() -> None:
    first, second = Snapshot.build(TREE), Snapshot.build(TREE[:3])
    memo: matcher.Memo = {}
    answer = search([("/root", (first,))], "render", memo=memo)
    assert set(memo) == {id(first)}
    memo[id(first)] = (first, [])  # what the memo says is what a search of that part answers
    assert search([("/root", (first,))], "render", memo=memo) == []
    assert search([("/root", (second,))], "render", memo=memo) != answer
    assert set(memo) == {id(second)}, "a part no longer searched must not be kept alive"
