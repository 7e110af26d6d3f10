"""marketplace/add, marketplace/remove, marketplace/upgrade and app/list, on both servers.

Git marketplaces are cloned with the system git from a loopback "dumb HTTP" server (fixtures.plugin_backend
.GitRepoServer): upstream 0.163 refuses `file://` sources, and http(s) on loopback keeps the tests offline.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.plugin_backend import GitRepoServer
from tests.integration.plugin_layout import write_marketplace

OFFLINE = 'chatgpt_base_url = "http://127.0.0.1:9/backend-api"\n'


def git(work_tree: Path, *args: str) -> None:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", *identity, *args], cwd=work_tree, check=True, capture_output=True)


def git_marketplace(root: Path) -> Path:
    write_marketplace(root, "git-market", {"alpha": "x"}, repo=False)
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "one")
    return root


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitRepoServer]:
    with GitRepoServer(tmp_path / "served") as server:
        yield server


def start(factory: AppServerFactory) -> Client:
    return factory(config_toml=OFFLINE, experimental_api=True)


def config_of(client: Client) -> dict[str, Any]:
    return tomllib.loads((client.codex_home / "config.toml").read_text())


def rpc_error(client: Client, method: str, params: dict[str, Any]) -> tuple[int, str]:
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(method, params)
    return excinfo.value.code, excinfo.value.message


def test_local_source_is_recorded_and_listed_in_place(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    source = tmp_path / "src"
    write_marketplace(source, "local-market", {"alpha": "x"}, repo=False)
    client = start(app_server_factory)
    added = client.request("marketplace/add", {"source": str(source)})
    assert added == {"marketplaceName": "local-market", "installedRoot": str(source), "alreadyAdded": False}
    assert config_of(client)["marketplaces"] == {"local-market": {"source_type": "local", "source": str(source)}}
    again = client.request("marketplace/add", {"source": str(source)})
    assert again["alreadyAdded"] is True
    listed = client.request("plugin/list", {})["marketplaces"]
    [market] = [market for market in listed if market["name"] == "local-market"]
    assert market["path"] == str(source / ".agents/plugins/marketplace.json")
    assert [plugin["id"] for plugin in market["plugins"]] == ["alpha@local-market"]

    removed = client.request("marketplace/remove", {"marketplaceName": "local-market"})
    assert removed == {"marketplaceName": "local-market", "installedRoot": None}
    assert "marketplaces" not in config_of(client)
    assert (source / ".agents/plugins/marketplace.json").is_file()
    assert rpc_error(client, "marketplace/remove", {"marketplaceName": "local-market"}) == (
        -32600,
        "marketplace `local-market` is not configured or installed",
    )


def test_git_source_is_cloned_upgraded_and_removed(
    app_server_factory: AppServerFactory, git_server: GitRepoServer, tmp_path: Path
) -> None:
    work_tree = git_marketplace(tmp_path / "src")
    url = git_server.publish(work_tree, "market")
    client = start(app_server_factory)
    clone = client.codex_home / ".tmp/marketplaces/git-market"
    added = client.request("marketplace/add", {"source": url})
    assert added == {"marketplaceName": "git-market", "installedRoot": str(clone), "alreadyAdded": False}
    assert (clone / ".agents/plugins/marketplace.json").is_file()
    assert config_of(client)["marketplaces"] == {"git-market": {"source_type": "git", "source": url}}
    assert client.request("marketplace/add", {"source": url})["alreadyAdded"] is True
    listed = [market["name"] for market in client.request("plugin/list", {})["marketplaces"]]
    assert "git-market" in listed

    first = client.request("marketplace/upgrade", {"marketplaceName": "git-market"})
    assert first == {"selectedMarketplaces": ["git-market"], "upgradedRoots": [str(clone)], "errors": []}
    unchanged = client.request("marketplace/upgrade", {"marketplaceName": "git-market"})
    assert unchanged == {"selectedMarketplaces": ["git-market"], "upgradedRoots": [], "errors": []}
    manifest = work_tree / "plugins/alpha/.codex-plugin/plugin.json"
    manifest.write_text(json.dumps({"name": "alpha", "version": "2.0.0"}))
    git(work_tree, "commit", "--quiet", "-am", "two")
    git_server.publish(work_tree, "market")
    upgraded = client.request("marketplace/upgrade", {})
    assert upgraded == {"selectedMarketplaces": ["git-market"], "upgradedRoots": [str(clone)], "errors": []}
    assert json.loads((clone / "plugins/alpha/.codex-plugin/plugin.json").read_text())["version"] == "2.0.0"

    removed = client.request("marketplace/remove", {"marketplaceName": "git-market"})
    assert removed == {"marketplaceName": "git-market", "installedRoot": str(clone)}
    assert not clone.exists()
    assert "marketplaces" not in config_of(client)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "file://{tmp}/src",
            "invalid marketplace source format; expected owner/repo, a git URL, or a local marketplace path",
        ),
        (
            "not a url at all",
            "invalid marketplace source format; expected owner/repo, a git URL, or a local marketplace path",
        ),
        ("{tmp}/nowhere", "failed to resolve local marketplace source path: No such file or directory (os error 2)"),
        (
            "{tmp}/empty",
            "invalid marketplace file `{tmp}/empty`: marketplace root does not contain a supported manifest",
        ),
    ],
    ids=["file-url", "garbage", "missing-path", "no-manifest"],
)
def test_bad_sources_are_refused_and_change_nothing(
    app_server_factory: AppServerFactory, tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    client = start(app_server_factory)
    before = (client.codex_home / "config.toml").read_text()
    params = {"source": source.format(tmp=tmp_path)}
    assert rpc_error(client, "marketplace/add", params) == (-32600, message.format(tmp=tmp_path))
    assert (client.codex_home / "config.toml").read_text() == before
    assert not (client.codex_home / ".tmp/marketplaces/git-market").exists()


def test_a_git_repository_without_a_marketplace_leaves_no_clone(
    app_server_factory: AppServerFactory, git_server: GitRepoServer, tmp_path: Path
) -> None:
    work_tree = tmp_path / "plain"
    work_tree.mkdir()
    (work_tree / "README").write_text("no marketplace here\n")
    git(work_tree, "init", "--quiet", "--initial-branch", "main")
    git(work_tree, "add", ".")
    git(work_tree, "commit", "--quiet", "-m", "one")
    url = git_server.publish(work_tree, "plain")
    client = start(app_server_factory)
    before = (client.codex_home / "config.toml").read_text()
    code, message = rpc_error(client, "marketplace/add", {"source": url})
    assert code == -32600
    assert "marketplace root does not contain a supported manifest" in message
    assert (client.codex_home / "config.toml").read_text() == before
    clones = client.codex_home / ".tmp/marketplaces"
    leftovers = [path.name for path in clones.iterdir() if path.name != ".staging"] if clones.exists() else []
    assert leftovers == []


def test_upgrade_of_a_marketplace_that_is_not_git_backed(app_server_factory: AppServerFactory) -> None:
    client = start(app_server_factory)
    assert client.request("marketplace/upgrade", {}) == {"selectedMarketplaces": [], "upgradedRoots": [], "errors": []}
    assert rpc_error(client, "marketplace/upgrade", {"marketplaceName": "nope"}) == (
        -32600,
        "marketplace `nope` is not configured as a Git marketplace",
    )


def test_app_list_is_an_empty_page_offline(app_server_factory: AppServerFactory) -> None:
    client = start(app_server_factory)
    assert client.request("app/list", {}) == {"data": [], "nextCursor": None}
