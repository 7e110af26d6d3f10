"""fuzzyFileSearch one-shot: shapes, ranking, the walk's rules, bad roots, caps and cancellation.

Scores differ between servers (upstream's come from its nucleo matcher), so these tests assert on ranking
and membership, never on score values.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.sync import Client, run


def make(root: Path, *names: str) -> Path:
    for name in names:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
    return root


def search(client: Client, query: str, *roots: Path | str, **extra: Any) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = client.request(
        "fuzzyFileSearch", {"query": query, "roots": [str(root) for root in roots], **extra}
    )["files"]
    return files


def found(client: Client, query: str, *roots: Path | str) -> list[str]:
    return [item["path"] for item in search(client, query, *roots)]


RENDER_TREE = ("src/render/", "src/render.rs", "src/renderer_pool.rs", "docs/prerender.md", "lib/r_e_n_d_e_r.txt")


def test_items_have_upstream_keys_and_exact_names_rank_first(
    app_server: Client, tmp_path: Path, app_server_kind: str
) -> None:
    make(tmp_path, *RENDER_TREE)
    files = search(app_server, "render", tmp_path)
    assert [list(item) for item in files] == [["root", "path", "match_type", "file_name", "score", "indices"]] * 5
    assert files[0] == {**files[0], "root": str(tmp_path), "path": "src/render", "match_type": "directory"}
    assert files[0]["file_name"] == "render"
    assert (files[1]["path"], files[1]["match_type"], files[1]["indices"]) == (
        "src/render.rs",
        "file",
        [4, 5, 6, 7, 8, 9],
    )
    assert {item["path"] for item in files} == {"src/render", *(name for name in RENDER_TREE if "." in name)}
    if app_server_kind != "codex":
        # Upstream's matcher rewards the scattered match for starting words (r_e_n_d_e_r, score 139) over
        # a match inside a word (prerender, 116); ours ranks every contiguous match before scattered ones.
        assert [item["path"] for item in files].index("lib/r_e_n_d_e_r.txt") == 4
    scores = [item["score"] for item in files]
    assert scores == sorted(scores, reverse=True)


def test_indices_mark_the_matched_characters(app_server: Client, tmp_path: Path) -> None:
    make(tmp_path, *RENDER_TREE)
    for item in search(app_server, "render", tmp_path):
        assert "".join(item["path"][i] for i in item["indices"]).lower() == "render"


def test_matching_ignores_case_and_follows_slashes_across_directories(app_server: Client, tmp_path: Path) -> None:
    make(tmp_path, "sub/target.txt", "other/tar.txt", "Target.md")
    assert found(app_server, "SUB/TAR", tmp_path)[0] == "sub/target.txt"
    assert set(found(app_server, "TARGET", tmp_path)) >= {"sub/target.txt", "Target.md"}


def test_equal_matches_are_ordered_by_path(app_server: Client, tmp_path: Path) -> None:
    make(tmp_path, "b/needle", "a/needle", "c/needle")
    assert found(app_server, "needle", tmp_path) == ["a/needle", "b/needle", "c/needle"]


def test_results_are_capped_at_50_best_first(app_server: Client, tmp_path: Path, app_server_kind: str) -> None:
    make(tmp_path, *(f"bulk/item_{i:03}.txt" for i in range(120)), "item")
    files = found(app_server, "item", tmp_path)
    assert len(files) == 50
    assert all("item" in path for path in files)
    if app_server_kind != "codex":
        # Upstream scores the exact file name `item` (score 59) below `bulk/item_000.txt` (109), so with
        # 120 better-scored rivals it falls out of the 50; ours ranks exact names first.
        assert files[0] == "item"


def test_empty_queries_roots_and_unusable_roots_find_nothing(app_server: Client, tmp_path: Path) -> None:
    make(tmp_path, "a.txt")
    assert found(app_server, "", tmp_path) == []
    assert found(app_server, "a") == []
    for root in (tmp_path / "missing", "relative/root", tmp_path / "a.txt"):
        assert found(app_server, "a", root) == []
    assert found(app_server, "a", tmp_path) == ["a.txt"]  # the server is still fine


def test_roots_must_be_a_list(app_server: Client, tmp_path: Path) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server.request("fuzzyFileSearch", {"query": "a", "roots": str(tmp_path)})
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith(f'Invalid request: invalid type: string "{tmp_path}", expected a sequence')


def test_gitignore_counts_only_in_a_git_work_tree(app_server: Client, tmp_path: Path) -> None:
    for name in ("plain", "repo"):
        make(tmp_path / name, "ignored_dir/x.log", "kept.log", "kept.txt")
        (tmp_path / name / ".gitignore").write_text("*.log\nignored_dir/\n")
    make(tmp_path / "repo", ".git/")
    assert set(found(app_server, "log", tmp_path / "plain")) >= {"kept.log", "ignored_dir/x.log"}
    repo = found(app_server, "log", tmp_path / "repo")
    assert "kept.log" not in repo
    assert not [path for path in repo if path.startswith("ignored_dir")]
    assert "kept.txt" in found(app_server, "kept", tmp_path / "repo")


def test_hidden_files_and_symlinked_directories_are_searched(app_server: Client, tmp_path: Path) -> None:
    make(tmp_path, ".hidden_thing", "real/linked_target.txt", "node_modules/dep_thing.js")
    os.symlink(tmp_path / "real", tmp_path / "dirlink")
    os.symlink(tmp_path, tmp_path / "real" / "loop")
    assert set(found(app_server, "thing", tmp_path)) == {".hidden_thing", "node_modules/dep_thing.js"}
    assert set(found(app_server, "linked_target", tmp_path)) == {"real/linked_target.txt", "dirlink/linked_target.txt"}


def test_each_result_names_its_root(app_server: Client, tmp_path: Path) -> None:
    make(tmp_path / "one", "shared_name.txt")
    make(tmp_path / "two", "shared_name.md")
    files = search(app_server, "shared_name", tmp_path / "one", tmp_path / "two")
    assert {(item["root"], item["path"]) for item in files} == {
        (str(tmp_path / "one"), "shared_name.txt"),
        (str(tmp_path / "two"), "shared_name.md"),
    }


def test_every_search_sees_the_filesystem_as_it_is_now(app_server: Client, tmp_path: Path) -> None:
    make(tmp_path, "first_file.txt", "dir/")
    assert found(app_server, "file", tmp_path) == ["first_file.txt"]
    make(tmp_path, "dir/second_file.txt")
    (tmp_path / "first_file.txt").unlink()
    assert found(app_server, "file", tmp_path) == ["dir/second_file.txt"]
    (tmp_path / "dir" / "second_file.txt").rename(tmp_path / "dir" / "renamed_file.txt")
    assert found(app_server, "file", tmp_path) == ["dir/renamed_file.txt"]


def test_a_newer_request_with_the_same_token_empties_the_older(
    app_server: Client, tmp_path: Path, app_server_kind: str
) -> None:
    # A tree large enough that the first walk is still running when the second request arrives.
    for d in range(25):
        make(tmp_path, *(f"d{d:02}/file_{i:03}.txt" for i in range(200)))
    params = {"query": "file", "roots": [str(tmp_path)], "cancellationToken": "tok"}

    async def both() -> list[Any]:
        older = asyncio.ensure_future(app_server.inner.request("fuzzyFileSearch", params))
        await asyncio.sleep(0.005)
        newer = asyncio.ensure_future(app_server.inner.request("fuzzyFileSearch", params))
        return list(await asyncio.gather(older, newer))

    older, newer = run(both())
    assert len(newer["files"]) == 50
    if app_server_kind == "codex":
        # Upstream 0.163 does not empty the older answer: it returns matches for it, sometimes the full
        # result, sometimes another 50 of the equally scored files (protocol notes, section 4, and runs here).
        assert len(older["files"]) <= 50
        assert all("file" in item["path"] for item in older["files"])
    else:
        assert older["files"] == []
    other = search(app_server, "file", tmp_path, cancellationToken="another")
    assert len(other) == 50
