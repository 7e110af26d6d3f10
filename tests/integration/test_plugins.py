"""plugin/list, plugin/read, plugin/install, plugin/uninstall over marketplaces on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.plugin_backend import PluginBackend
from tests.integration.plugin_layout import DEFAULT_PROMPT_TABLE, write_broken_marketplace, write_marketplace

OFFLINE = 'chatgpt_base_url = "http://127.0.0.1:9/backend-api"\n'
"""upstream fetches featured plugins at startup; a closed loopback port keeps that offline."""


def start(factory: AppServerFactory, extra: str = "") -> Any:
    return factory(config_toml=OFFLINE + extra, experimental_api=True)


def only_marketplace(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(marketplace for marketplace in result["marketplaces"] if marketplace["name"] == name)


def test_list_shows_good_marketplace_and_reports_the_bad_one(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    good_path = write_marketplace(tmp_path / "good", "acc-good", {"alpha": "Summarise my inbox"})
    bad_path = write_broken_marketplace(tmp_path / "bad")
    client = start(app_server_factory)
    result = client.request("plugin/list", {"cwds": [str(tmp_path / "good"), str(tmp_path / "bad")]})
    assert result["featuredPluginIds"] == []
    assert result["marketplaceLoadErrors"] == [
        {
            "marketplacePath": str(bad_path),
            "message": f"invalid marketplace file `{bad_path}`: EOF while parsing a list at line 1 column 31",
        }
    ]
    marketplace = only_marketplace(result, "acc-good")
    assert (marketplace["path"], marketplace["interface"]) == (str(good_path), {"displayName": "acc-good market"})
    [plugin] = marketplace["plugins"]
    assert plugin == {
        "id": "alpha@acc-good",
        "remotePluginId": None,
        "version": None,
        "localVersion": "1.0.0",
        "name": "alpha",
        "shareContext": None,
        "source": {"type": "local", "path": str(tmp_path / "good/plugins/alpha")},
        "installed": False,
        "installedAt": None,
        "enabled": False,
        "installPolicy": "AVAILABLE",
        "installPolicySource": None,
        "mustShowInstallationInterstitial": None,
        "authPolicy": "ON_INSTALL",
        "availability": "AVAILABLE",
        "disabledReason": None,
        "eligiblePlanTypes": None,
        "interface": {
            "displayName": "Alpha",
            "shortDescription": "short",
            "longDescription": None,
            "developerName": None,
            "category": "Productivity",
            "capabilities": [],
            "websiteUrl": None,
            "privacyPolicyUrl": None,
            "termsOfServiceUrl": None,
            "defaultPrompt": ["Summarise my inbox"],
            "brandColor": None,
            "composerIcon": None,
            "composerIconUrl": None,
            "logo": None,
            "logoDark": None,
            "logoUrl": None,
            "logoUrlDark": None,
            "screenshots": [],
            "screenshotUrls": [],
        },
        "keywords": [],
    }


def test_home_marketplace_is_listed_without_cwds(app_server_factory: AppServerFactory) -> None:
    client = start(app_server_factory)
    home = client.codex_home.parent  # the harness runs servers with HOME next to CODEX_HOME
    write_marketplace(home, "home-market", {"gamma": "Hi"}, repo=False)
    result = client.request("plugin/list", {})
    assert [plugin["id"] for plugin in only_marketplace(result, "home-market")["plugins"]] == ["gamma@home-market"]


def test_read_returns_the_plugin_with_its_skills(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    path = write_marketplace(tmp_path / "repo", "acc-good", {"beta": ["a", "b"]})
    client = start(app_server_factory)
    plugin = client.request("plugin/read", {"pluginName": "beta", "marketplacePath": str(path)})["plugin"]
    assert (plugin["marketplaceName"], plugin["marketplacePath"]) == ("acc-good", str(path))
    assert plugin["summary"]["id"] == "beta@acc-good"
    assert plugin["summary"]["interface"]["defaultPrompt"] == ["a", "b"]
    assert plugin["description"] == "beta plugin"
    assert plugin["skills"] == [
        {
            "name": "beta:beta-skill",
            "description": "does beta things",
            "shortDescription": None,
            "interface": None,
            "path": str(tmp_path / "repo/plugins/beta/skills/beta-skill/SKILL.md"),
            "enabled": True,
        }
    ]
    assert {key: plugin[key] for key in ("shareUrl", "onboardingSkill", "hooks", "apps", "mcpServers")} == {
        "shareUrl": None,
        "onboardingSkill": None,
        "hooks": [],
        "apps": [],
        "mcpServers": [],
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pluginName": "alpha"}, "plugin/read requires exactly one of marketplacePath or remoteMarketplaceName"),
        ({"pluginName": "nope", "marketplacePath": "MP"}, "plugin `nope` was not found in marketplace `acc-good`"),
        (
            {"pluginName": "x", "marketplacePath": "/nonexistent/marketplace.json"},
            "marketplace file `/nonexistent/marketplace.json` does not exist",
        ),
        (
            {"pluginName": "x", "remoteMarketplaceName": "openai-curated-remote"},
            "read remote plugin details: chatgpt authentication required for remote plugin catalog",
        ),
    ],
)
def test_read_errors(
    app_server_factory: AppServerFactory, tmp_path: Path, params: dict[str, Any], message: str
) -> None:
    path = write_marketplace(tmp_path / "repo", "acc-good", {"alpha": "x"})
    client = start(app_server_factory)
    resolved = {key: str(path) if value == "MP" else value for key, value in params.items()}
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("plugin/read", resolved)
    assert (excinfo.value.code, excinfo.value.message) == (-32600, message)


@pytest.mark.parametrize("method", ["plugin/read", "plugin/install"])
def test_malformed_marketplace_is_an_invalid_request(
    app_server_factory: AppServerFactory, tmp_path: Path, method: str
) -> None:
    path = write_broken_marketplace(tmp_path / "bad")
    client = start(app_server_factory)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(method, {"pluginName": "alpha", "marketplacePath": str(path)})
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith(f"invalid marketplace file `{path}`: EOF while parsing")


def test_install_caches_and_enables_then_uninstall_removes_both(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    path = write_marketplace(tmp_path / "repo", "acc-good", {"alpha": "x"})
    client = start(app_server_factory)
    cwds = {"cwds": [str(tmp_path / "repo")]}
    result = client.request("plugin/install", {"pluginName": "alpha", "marketplacePath": str(path)})
    assert result == {"authPolicy": "ON_INSTALL", "appsNeedingAuth": []}
    cache = client.codex_home / "plugins/cache/acc-good/alpha"
    assert (cache / "1.0.0/.codex-plugin/plugin.json").is_file()
    assert (cache / "1.0.0/skills/alpha-skill/SKILL.md").is_file()
    config = (client.codex_home / "config.toml").read_text()
    assert config == OFFLINE + '\n[plugins."alpha@acc-good"]\nenabled = true\n'
    [plugin] = only_marketplace(client.request("plugin/list", cwds), "acc-good")["plugins"]
    assert (plugin["installed"], plugin["enabled"]) == (True, True)
    installed = client.request("plugin/installed", cwds)
    assert [p["id"] for p in only_marketplace(installed, "acc-good")["plugins"]] == ["alpha@acc-good"]

    assert client.request("plugin/uninstall", {"pluginId": "alpha@acc-good"}) == {}
    assert not cache.exists()
    assert (client.codex_home / "plugins/cache/acc-good").is_dir()
    assert "alpha@acc-good" not in (client.codex_home / "config.toml").read_text()
    [plugin] = only_marketplace(client.request("plugin/list", cwds), "acc-good")["plugins"]
    assert (plugin["installed"], plugin["enabled"]) == (False, False)
    assert client.request("plugin/uninstall", {"pluginId": "alpha@acc-good"}) == {}


def test_install_of_an_unknown_plugin_names_plugin_and_marketplace(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    path = write_marketplace(tmp_path / "repo", "acc-good", {"alpha": "x"})
    client = start(app_server_factory)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("plugin/install", {"pluginName": "nope", "marketplacePath": str(path)})
    assert (excinfo.value.code, excinfo.value.message) == (
        -32600,
        "plugin `nope` was not found in marketplace `acc-good`",
    )
    assert not (client.codex_home / "plugins").exists()


def test_feature_gate_off_empties_lists_refuses_read_but_not_install(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    path = write_marketplace(tmp_path / "repo", "acc-good", {"alpha": "x"})
    client = start(app_server_factory, "[features]\nplugins = false\n")
    cwds = {"cwds": [str(tmp_path / "repo")]}
    assert client.request("plugin/list", cwds) == {
        "marketplaces": [],
        "marketplaceLoadErrors": [],
        "featuredPluginIds": [],
    }
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("plugin/read", {"pluginName": "alpha", "marketplacePath": str(path)})
    assert (excinfo.value.code, excinfo.value.message) == (-32600, "plugins feature is disabled")
    client.request("plugin/install", {"pluginName": "alpha", "marketplacePath": str(path)})
    assert (client.codex_home / "plugins/cache/acc-good/alpha/1.0.0").is_dir()
    assert client.request("plugin/installed", cwds)["marketplaces"] == []


def test_feature_gate_is_on_by_default(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    write_marketplace(tmp_path / "repo", "acc-good", {"alpha": "x"})
    client = start(app_server_factory)
    result = client.request("plugin/list", {"cwds": [str(tmp_path / "repo")]})
    assert [marketplace["name"] for marketplace in result["marketplaces"]] == ["acc-good"]


def test_default_prompt_is_normalised_never_an_error(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    plugins = {f"p{index}": raw for index, (raw, _) in enumerate(DEFAULT_PROMPT_TABLE)}
    path = write_marketplace(tmp_path / "repo", "prompts", plugins)
    client = start(app_server_factory)
    listed = only_marketplace(client.request("plugin/list", {"cwds": [str(tmp_path / "repo")]}), "prompts")
    got = {plugin["name"]: plugin["interface"]["defaultPrompt"] for plugin in listed["plugins"]}
    assert got == {f"p{index}": expected for index, (_, expected) in enumerate(DEFAULT_PROMPT_TABLE)}
    read = client.request("plugin/read", {"pluginName": "p1", "marketplacePath": str(path)})
    assert read["plugin"]["summary"]["interface"]["defaultPrompt"] == ["p1", "p3", "p4"]


def test_force_remote_sync_is_ignored_for_local_plugins(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    """0.163 dropped `forceRemoteSync` from its schema: a local plugin changes locally, with no backend call."""
    path = write_marketplace(tmp_path / "repo", "acc-good", {"alpha": "x"})
    with PluginBackend() as backend:
        backend.fail("install")
        backend.fail("uninstall")
        client = app_server_factory(config_toml=f'chatgpt_base_url = "{backend.base_url}"\n', experimental_api=True)
        params = {"pluginName": "alpha", "marketplacePath": str(path), "forceRemoteSync": True}
        client.request("plugin/install", params)
        assert (client.codex_home / "plugins/cache/acc-good/alpha/1.0.0").is_dir()
        client.request("plugin/uninstall", {"pluginId": "alpha@acc-good", "forceRemoteSync": True})
        assert not (client.codex_home / "plugins/cache/acc-good/alpha").exists()
        assert backend.calls() == []


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        (
            "plugin/install",
            {"pluginName": "x", "remoteMarketplaceName": "openai-curated-remote"},
            "read remote plugin details before install: chatgpt authentication required for remote plugin catalog",
        ),
        (
            "plugin/install",
            {"pluginName": "x"},
            "plugin/install requires exactly one of marketplacePath or remoteMarketplaceName",
        ),
        (
            "plugin/uninstall",
            {"pluginId": "remote-id"},
            "resolve remote plugin before uninstall: chatgpt authentication required for remote plugin catalog",
        ),
        ("plugin/uninstall", {"pluginId": "a@b@c"}, "invalid remote plugin id"),
    ],
)
def test_remote_plugins_need_chatgpt_sign_in(
    app_server_factory: AppServerFactory, method: str, params: dict[str, Any], message: str
) -> None:
    client = start(app_server_factory)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(method, params)
    assert (excinfo.value.code, excinfo.value.message) == (-32600, message)
