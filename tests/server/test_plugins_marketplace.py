"""Marketplace discovery and the install store, without a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.plugins.marketplace import MarketplaceError, discover, load_marketplace, project_root
from server.protocol.errors import InvalidRequest
from tests.integration.plugin_layout import write_broken_marketplace, write_marketplace


def test_cwd_inside_a_repo_finds_the_repo_root_marketplace(tmp_path: Path) -> None:
    write_marketplace(tmp_path / "repo", "mp", {"alpha": "x"})
    nested = tmp_path / "repo/src/deep"
    nested.mkdir(parents=True)
    assert project_root(nested) == tmp_path / "repo"
    found = discover(None, [str(nested)])
    assert [marketplace.name for marketplace in found.marketplaces] == ["mp"]


def test_home_comes_first_and_a_repeated_name_is_listed_once(tmp_path: Path) -> None:
    write_marketplace(tmp_path / "home", "same", {"home-plugin": "x"}, repo=False)
    write_marketplace(tmp_path / "repo", "same", {"repo-plugin": "x"})
    found = discover(str(tmp_path / "home"), [str(tmp_path / "repo")])
    assert [[entry.name for entry in marketplace.entries] for marketplace in found.marketplaces] == [["home-plugin"]]


def test_bad_files_are_errors_and_the_rest_still_loads(tmp_path: Path) -> None:
    write_marketplace(tmp_path / "good", "good", {"alpha": "x"})
    bad = write_broken_marketplace(tmp_path / "bad")
    found = discover(None, [str(tmp_path / "bad"), str(tmp_path / "good")])
    assert [marketplace.name for marketplace in found.marketplaces] == ["good"]
    assert [error.path for error in found.errors] == [bad]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"name": "x", "plugins": [', "EOF while parsing a list at line 1 column 26"),
        ('{"name": "x", "plugins": [{"name": "a"', "EOF while parsing an object at line 1 column 38"),
        ('{"plugins": []}', "missing field `name`"),
        ('{"name": "x", "plugins": [{"name": "a"}]}', "plugin `a` has no local `source.path`"),
    ],
)
def test_malformed_files_name_the_path_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "marketplace.json"
    path.write_text(content)
    with pytest.raises(MarketplaceError) as excinfo:
        load_marketplace(path)
    assert str(excinfo.value) == f"invalid marketplace file `{path}`: {reason}"


def test_source_paths_resolve_against_the_marketplace_root(tmp_path: Path) -> None:
    path = tmp_path / "root/.agents/plugins/marketplace.json"
    path.parent.mkdir(parents=True)
    plugins = [{"name": "a", "source": "./nested/../plugins/a"}, {"name": "b", "source": {"path": "plugins/b"}}]
    path.write_text(json.dumps({"name": "m", "plugins": plugins}))
    marketplace = load_marketplace(path)
    assert [entry.path for entry in marketplace.entries] == [tmp_path / "root/plugins/a", tmp_path / "root/plugins/b"]
    assert marketplace.entries[0].install_policy == "AVAILABLE"
    with pytest.raises(InvalidRequest, match="plugin `c` was not found in marketplace `m`"):
        marketplace.entry("c")
