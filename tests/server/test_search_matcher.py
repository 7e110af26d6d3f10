"""Ranking on a fixed set of entries: tiers, ties, indices, caps, several atoms and several roots."""

from __future__ import annotations

import itertools

import pytest

from server.search.index import Snapshot
from server.search.matcher import Match, Superseded, narrows, search

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
