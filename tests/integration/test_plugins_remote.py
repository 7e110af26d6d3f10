"""The remote plugin catalogue (`openai-curated-remote`) behind a ChatGPT login, against the backend stand-in.

Each test signs in the way device-code login leaves things (an `auth.json` in `chatgpt` mode), points
`chatgpt_base_url` at `fixtures.plugin_backend`, and asserts the backend calls in order (as a subsequence:
upstream also makes background catalogue calls that may interleave) and the plugin cache after each step.
Bundles are served over https by a loopback server whose throwaway CA the server under test trusts through
`CODEX_CA_CERTIFICATE`, which upstream honours too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.auth_issuer import access_token, id_token
from fixtures.plugin_backend import (
    BundleServer,
    Failure,
    PluginBackend,
    loopback_certificate,
    plugin_bundle,
    remote_plugin,
    tar_gz,
)

REMOTE = "openai-curated-remote"
STARTUP_SYNC = "/ps/plugins/installed?limit=200&includeDownloadUrls=true"
WAIT_ROUNDS = 200


@dataclass
class Remote:
    backend: PluginBackend
    bundles: BundleServer
    plain: BundleServer
    ca: Path
    tmp: Path

    def start(self, factory: AppServerFactory, *, signed_in: bool = True) -> Client:
        home = self.tmp / f"home{len(list(self.tmp.glob('home*')))}" / "codex"
        home.mkdir(parents=True)
        if signed_in:
            write_chatgpt_auth(home)
        client = factory(
            config_toml=f'chatgpt_base_url = "{self.backend.base_url}"\n',
            codex_home=home,
            env={"CODEX_CA_CERTIFICATE": str(self.ca)},
            experimental_api=True,
        )
        if signed_in:
            wait_for(lambda: any(line.endswith(STARTUP_SYNC) for line in self.backend.calls()))
        return client

    def https_plugin(self, remote_id: str, name: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
        url = self.bundles.url_for(name, plugin_bundle(name, version))
        return remote_plugin(remote_id, name, version=version, bundle_url=url, **extra)


def write_chatgpt_auth(home: Path) -> None:
    tokens = {
        "id_token": id_token(email="dev@example.com", plan="plus", account_id="acct-1"),
        "access_token": access_token(account_id="acct-1", plan="plus"),
        "refresh_token": "refresh-1",
        "account_id": "acct-1",
    }
    auth = {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": tokens, "last_refresh": "2026-12-07T00:00:00Z"}
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)


def wait_for(condition: Any) -> None:
    """Poll a condition the server reaches in the background; bounded, and the test fails if it never holds."""
    import time

    for _ in range(WAIT_ROUNDS):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the server never got there")


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    ca, cert, key = loopback_certificate(tmp_path)
    with PluginBackend() as backend, BundleServer((cert, key)) as bundles, BundleServer() as plain:
        yield Remote(backend, bundles, plain, ca, tmp_path)


def in_order(calls: Sequence[str], expected: Sequence[str]) -> bool:
    """`expected` occurs in `calls` in this order (other calls may come between)."""
    remaining = iter(calls)
    return all(any(call == wanted for call in remaining) for wanted in expected)


def plugin_cache(client: Client, name: str) -> Path:
    return client.codex_home / "plugins" / "cache" / REMOTE / name


def tree(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*")) if directory.exists() else []


def install(client: Client, remote_id: str) -> Any:
    return client.request("plugin/install", {"pluginName": remote_id, "remoteMarketplaceName": REMOTE})


def rpc_error(call: Any) -> tuple[int, str]:
    with pytest.raises(RpcResponseError) as excinfo:
        call()
    return excinfo.value.code, excinfo.value.message


def summary(remote_id: str, name: str, *, installed: bool, enabled: bool, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"{name}@{REMOTE}",
        "remotePluginId": remote_id,
        "version": "1.0.0",
        "localVersion": None,
        "name": name,
        "shareContext": None,
        "source": {"type": "remote"},
        "installed": installed,
        "installedAt": None,
        "enabled": enabled,
        "installPolicy": "AVAILABLE",
        "installPolicySource": None,
        "mustShowInstallationInterstitial": None,
        "authPolicy": "ON_INSTALL",
        "availability": "AVAILABLE",
        "disabledReason": None,
        "eligiblePlanTypes": None,
        "interface": {
            "displayName": name.title(),
            "shortDescription": f"{name} short",
            "longDescription": None,
            "developerName": "Example",
            "category": "Productivity",
            "capabilities": [],
            "websiteUrl": None,
            "privacyPolicyUrl": None,
            "termsOfServiceUrl": None,
            "defaultPrompt": None,
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
    interface = changes.pop("interface", {})
    base["interface"].update(interface)
    return {**base, **changes}


def remote_marketplace(plugins: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": REMOTE, "path": None, "interface": {"displayName": "OpenAI Curated Remote"}, "plugins": plugins}


def test_installed_lists_remote_plugins_with_normalised_prompts(
    app_server_factory: AppServerFactory, remote: Remote
) -> None:
    prompts = ["a", "x" * 200, "c", "d", "e"]
    remote.backend.add(remote_plugin("plugins~gmail", "gmail", default_prompts=prompts), installed=True)
    remote.backend.add(remote_plugin("plugins~slack", "slack"))
    client = remote.start(app_server_factory)
    result = client.request("plugin/installed", {})
    expected = summary(
        "plugins~gmail", "gmail", installed=True, enabled=True, interface={"defaultPrompt": ["a", "c", "d"]}
    )
    assert result == {"marketplaces": [remote_marketplace([expected])], "marketplaceLoadErrors": []}
    assert in_order(remote.backend.calls(), ["GET /backend-api/ps/plugins/installed?limit=200"])


FAILURES = [Failure(), Failure.malformed(), Failure.dropped()]
FAILURE_IDS = ["500", "malformed", "drop"]


@pytest.mark.parametrize("failure", FAILURES, ids=FAILURE_IDS)
def test_a_failing_backend_keeps_the_last_installed_list_but_lists_nothing_remote(
    app_server_factory: AppServerFactory, remote: Remote, failure: Failure
) -> None:
    remote.backend.add(remote_plugin("plugins~gmail", "gmail"), installed=True)
    client = remote.start(app_server_factory)
    installed = client.request("plugin/installed", {})
    listed = client.request("plugin/list", {})
    assert [plugin["id"] for plugin in installed["marketplaces"][0]["plugins"]] == [f"gmail@{REMOTE}"]
    remote.backend.fail("installed", failure)
    remote.backend.fail("list", failure)
    assert client.request("plugin/installed", {}) == installed
    assert listed["marketplaces"][0]["name"] == REMOTE
    unlisted = client.request("plugin/list", {"forceRefetch": True})
    assert unlisted == {"marketplaces": [], "marketplaceLoadErrors": [], "featuredPluginIds": []}


@pytest.mark.parametrize("failure", FAILURES, ids=FAILURE_IDS)
def test_a_backend_failing_from_the_start_lists_nothing_remote_without_an_error(
    app_server_factory: AppServerFactory, remote: Remote, failure: Failure
) -> None:
    remote.backend.add(remote_plugin("plugins~gmail", "gmail"), installed=True)
    remote.backend.fail("installed", failure)
    remote.backend.fail("list", failure)
    client = remote.start(app_server_factory)
    assert client.request("plugin/installed", {}) == {"marketplaces": [], "marketplaceLoadErrors": []}
    listed = client.request("plugin/list", {"forceRefetch": True})
    assert listed == {"marketplaces": [], "marketplaceLoadErrors": [], "featuredPluginIds": []}


def test_list_merges_directory_and_installed_state(app_server_factory: AppServerFactory, remote: Remote) -> None:
    remote.backend.add(remote_plugin("plugins~slack", "slack"))
    remote.backend.add(remote_plugin("plugins~gmail", "gmail"), installed=True)
    client = remote.start(app_server_factory)
    remote.backend.clear_requests()
    result = client.request("plugin/list", {"forceRefetch": True})
    assert result["marketplaces"] == [
        remote_marketplace(
            [  # the directory's order, not sorted
                summary("plugins~slack", "slack", installed=False, enabled=False),
                summary("plugins~gmail", "gmail", installed=True, enabled=True, localVersion="1.0.0"),
            ]
        )
    ]
    calls = remote.backend.calls()
    assert "GET /backend-api/ps/plugins/list?scope=GLOBAL&limit=200" in calls
    assert "GET /backend-api/ps/plugins/installed?scope=GLOBAL" in calls


REMOTE_SKILLS = [
    {
        "name": "post",
        "description": "posts",
        "interface": {
            "display_name": "Post",
            "short_description": "p short",
            "brand_color": None,
            "default_prompt": "do it",
            "icon_small_url": "https://example.com/s.png",
            "icon_large_url": None,
        },
    },
    {"name": "read", "description": "reads", "interface": None},
]


def test_read_lists_the_release_skills(app_server_factory: AppServerFactory, remote: Remote) -> None:
    item = remote_plugin("plugins~slack", "slack")
    item["release"]["skills"] = REMOTE_SKILLS
    remote.backend.add(item, installed=True)
    client = remote.start(app_server_factory)
    plugin = client.request("plugin/read", {"pluginName": "plugins~slack", "remoteMarketplaceName": REMOTE})["plugin"]
    assert plugin["skills"] == [
        {
            "name": "post",
            "description": "posts",
            "shortDescription": "p short",
            "interface": {
                "displayName": "Post",
                "shortDescription": "p short",
                "iconSmall": None,
                "iconLarge": None,
                "iconSmallUrl": "https://example.com/s.png",
                "iconLargeUrl": None,
                "brandColor": None,
                "defaultPrompt": "do it",
            },
            "path": None,
            "enabled": True,
        },
        {
            "name": "read",
            "description": "reads",
            "shortDescription": None,
            "interface": None,
            "path": None,
            "enabled": True,
        },
    ]


def test_read_returns_the_remote_detail(app_server_factory: AppServerFactory, remote: Remote) -> None:
    remote.backend.add(remote_plugin("plugins~slack", "slack"))
    client = remote.start(app_server_factory)
    remote.backend.clear_requests()
    plugin = client.request("plugin/read", {"pluginName": "plugins~slack", "remoteMarketplaceName": REMOTE})["plugin"]
    assert plugin == {
        "marketplaceName": REMOTE,
        "marketplacePath": None,
        "summary": summary("plugins~slack", "slack", installed=False, enabled=False),
        "shareUrl": None,
        "description": "slack remote plugin",
        "skills": [],
        "onboardingSkill": None,
        "hooks": [],
        "apps": [],
        "appTemplates": [],
        "mcpServers": [],
        "scheduledTasks": None,
    }
    assert in_order(
        remote.backend.calls(),
        ["GET /backend-api/ps/plugins/plugins~slack", "GET /backend-api/ps/plugins/installed?scope=GLOBAL"],
    )
    url = f"{remote.backend.base_url}/ps/plugins/plugins~nope"
    assert rpc_error(
        lambda: client.request("plugin/read", {"pluginName": "plugins~nope", "remoteMarketplaceName": REMOTE})
    ) == (
        -32600,
        f"read remote plugin details: remote plugin catalog request to {url} failed with status 404 Not Found: "
        '{"detail": "Not Found"}',
    )


INSTALL_CALLS = [
    "GET /backend-api/ps/plugins/plugins~slack?includeDownloadUrls=true",
    "GET /backend-api/ps/plugins/installed?scope=GLOBAL",
    "POST /backend-api/ps/plugins/plugins~slack/install?includeAppsNeedingAuth=true",
    "GET /backend-api/ps/plugins/installed?limit=200",
]


def test_install_downloads_the_https_bundle_then_uninstall_removes_it(
    app_server_factory: AppServerFactory, remote: Remote
) -> None:
    remote.backend.add(remote.https_plugin("plugins~slack", "slack", "2.0.0"))
    client = remote.start(app_server_factory)
    config_before = (client.codex_home / "config.toml").read_text()
    remote.backend.clear_requests()
    assert install(client, "plugins~slack") == {"authPolicy": "ON_INSTALL", "appsNeedingAuth": []}
    wait_for(lambda: in_order(remote.backend.calls(), INSTALL_CALLS))  # the last is upstream's background refresh
    assert remote.bundles.requests == ["/bundles/slack.tar.gz"]
    cache = plugin_cache(client, "slack")
    assert tree(cache) == [
        ".codex-remote-plugin-install.json",
        "2.0.0",
        "2.0.0/.codex-plugin",
        "2.0.0/.codex-plugin/plugin.json",
        "2.0.0/skills",
        "2.0.0/skills/slack-skill",
        "2.0.0/skills/slack-skill/SKILL.md",
    ]
    marker = json.loads((cache / ".codex-remote-plugin-install.json").read_text())
    assert marker == {"schema_version": 1, "remote_plugin_id": "plugins~slack"}
    assert (client.codex_home / "config.toml").read_text() == config_before
    assert remote.backend.installed == {"plugins~slack": True}
    wait_for(lambda: client.request("plugin/installed", {})["marketplaces"])  # upstream refreshes in the background
    [listed] = client.request("plugin/installed", {})["marketplaces"][0]["plugins"]
    assert (listed["id"], listed["version"], listed["installed"]) == (f"slack@{REMOTE}", "2.0.0", True)

    remote.backend.clear_requests()
    assert client.request("plugin/uninstall", {"pluginId": "plugins~slack"}) == {}
    uninstall_calls = [
        "GET /backend-api/ps/plugins/plugins~slack",
        "POST /backend-api/ps/plugins/plugins~slack/uninstall",
        "GET /backend-api/ps/plugins/installed?limit=200",
    ]
    # Upstream refreshes the installed list in the background: that last call may follow the response.
    wait_for(lambda: in_order(remote.backend.calls(), uninstall_calls))
    assert not cache.exists()
    assert remote.backend.installed == {}


def test_a_refused_uninstall_leaves_the_cache(app_server_factory: AppServerFactory, remote: Remote) -> None:
    remote.backend.add(remote.https_plugin("plugins~slack", "slack"))
    client = remote.start(app_server_factory)
    install(client, "plugins~slack")
    cache_before = tree(plugin_cache(client, "slack"))
    remote.backend.fail("uninstall")
    url = f"{remote.backend.base_url}/ps/plugins/plugins~slack/uninstall"
    assert rpc_error(lambda: client.request("plugin/uninstall", {"pluginId": "plugins~slack"})) == (
        -32603,
        f"uninstall remote plugin: remote plugin catalog request to {url} failed with status "
        '500 Internal Server Error: {"detail": "backend unavailable"}',
    )
    assert tree(plugin_cache(client, "slack")) == cache_before
    assert remote.backend.installed == {"plugins~slack": True}


UPSTREAM_CACHES_BEFORE_THE_BACKEND_AGREES = (
    "upstream 0.163 unpacks the bundle into the cache before it POSTs the install, so a refused install leaves "
    "a cached plugin the backend does not know about; ours stages it and moves it in only after the backend "
    "agreed, so a failure changes nothing on disk"
)


def test_a_refused_install_changes_nothing_on_disk(
    app_server_factory: AppServerFactory, app_server_kind: str, remote: Remote
) -> None:
    remote.backend.add(remote.https_plugin("plugins~slack", "slack"))
    client = remote.start(app_server_factory)
    remote.backend.fail("install")
    url = f"{remote.backend.base_url}/ps/plugins/plugins~slack/install?includeAppsNeedingAuth=true"
    assert rpc_error(lambda: install(client, "plugins~slack")) == (
        -32603,
        f"install remote plugin: remote plugin catalog request to {url} failed with status "
        '500 Internal Server Error: {"detail": "backend unavailable"}',
    )
    assert in_order(remote.backend.calls(), INSTALL_CALLS[:3])
    if app_server_kind == "codex":
        assert plugin_cache(client, "slack").is_dir(), UPSTREAM_CACHES_BEFORE_THE_BACKEND_AGREES
    else:
        assert not plugin_cache(client, "slack").exists(), UPSTREAM_CACHES_BEFORE_THE_BACKEND_AGREES
    assert remote.backend.installed == {}


def test_install_refuses_plain_http_and_missing_urls(app_server_factory: AppServerFactory, remote: Remote) -> None:
    plain_url = remote.plain.url_for("plain", plugin_bundle("plain"))
    remote.backend.add(remote_plugin("plugins~plain", "plain", bundle_url=plain_url))
    remote.backend.add(remote_plugin("plugins~nourl", "nourl"))
    client = remote.start(app_server_factory)
    assert rpc_error(lambda: install(client, "plugins~plain")) == (
        -32603,
        "install remote plugin bundle: backend returned an unsupported download URL scheme for remote plugin "
        "`plugins~plain`: http",
    )
    assert rpc_error(lambda: install(client, "plugins~nourl")) == (
        -32603,
        "install remote plugin bundle: backend did not return a download URL for remote plugin `plugins~nourl`",
    )
    assert remote.plain.requests == []
    assert not (client.codex_home / "plugins" / "cache").exists()
    assert not any("/install?" in call for call in remote.backend.calls())


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (
            Failure(),
            "remote plugin catalog request to {url} failed with status 500 Internal Server Error: "
            '{{"detail": "backend unavailable"}}',
        ),
        (
            Failure.malformed(),
            "failed to parse remote plugin catalog response from {url}: EOF while parsing a list at line 1 column 13",
        ),
        (
            Failure.dropped(),
            "failed to send remote plugin catalog request to {url}: error sending request for url ({url})",
        ),
    ],
    ids=["500", "malformed", "drop"],
)
def test_install_reports_a_failing_detail_call(
    app_server_factory: AppServerFactory, remote: Remote, failure: Failure, reason: str
) -> None:
    remote.backend.add(remote.https_plugin("plugins~slack", "slack"))
    client = remote.start(app_server_factory)
    remote.backend.fail("detail", failure)
    url = f"{remote.backend.base_url}/ps/plugins/plugins~slack?includeDownloadUrls=true"
    assert rpc_error(lambda: install(client, "plugins~slack")) == (
        -32603,
        "read remote plugin details before install: " + reason.format(url=url),
    )
    assert remote.bundles.requests == []
    assert not (client.codex_home / "plugins" / "cache").exists()


@pytest.mark.parametrize(
    ("files", "links", "reason"),
    [
        (
            {".codex-plugin/plugin.json": "{}", "../escape.txt": "x"},
            {},
            "plugin bundle tar entry `../escape.txt` escapes extraction root",
        ),
        (
            {"nested/.codex-plugin/plugin.json": "{}"},
            {},
            "remote plugin bundle did not contain a standard plugin root with plugin.json",
        ),
    ],
    ids=["path-escape", "no-plugin-root"],
)
def test_a_hostile_or_broken_bundle_changes_nothing(
    app_server_factory: AppServerFactory,
    remote: Remote,
    files: dict[str, str],
    links: dict[str, str],
    reason: str,
) -> None:
    url = remote.bundles.url_for("bad", tar_gz(files, links=links))
    remote.backend.add(remote_plugin("plugins~bad", "bad", bundle_url=url))
    client = remote.start(app_server_factory)
    assert rpc_error(lambda: install(client, "plugins~bad")) == (-32603, f"install remote plugin bundle: {reason}")
    assert not (client.codex_home / "plugins" / "cache").exists()
    assert list(client.codex_home.parent.rglob("escape.txt")) == []
    assert remote.backend.installed == {}


def test_startup_sync_fetches_bundles_of_installed_plugins(
    app_server_factory: AppServerFactory, remote: Remote
) -> None:
    remote.backend.add(remote.https_plugin("plugins~gmail", "gmail"), installed=True)
    client = remote.start(app_server_factory)
    cache = plugin_cache(client, "gmail")
    wait_for(lambda: (cache / ".codex-remote-plugin-install.json").is_file())
    assert (cache / "1.0.0/.codex-plugin/plugin.json").is_file()
    assert json.loads((cache / ".codex-remote-plugin-install.json").read_text()) == {
        "schema_version": 1,
        "remote_plugin_id": "plugins~gmail",
    }
    assert remote.bundles.requests == ["/bundles/gmail.tar.gz"]


def test_invalid_remote_ids_are_refused_before_any_call(app_server_factory: AppServerFactory, remote: Remote) -> None:
    client = remote.start(app_server_factory)
    remote.backend.clear_requests()
    assert rpc_error(lambda: install(client, "bad id!")) == (
        -32600,
        "invalid remote plugin id: only ASCII letters, digits, `_`, `-`, and `~` are allowed",
    )
    assert rpc_error(lambda: client.request("plugin/uninstall", {"pluginId": "bad id!"})) == (
        -32600,
        "invalid remote plugin id",
    )
    assert not any("bad" in call for call in remote.backend.calls())


MUTATION_FAILURES = [
    (Failure(), "remote plugin catalog request to {url} failed with status 500 Internal Server Error: "
     '{{"detail": "backend unavailable"}}'),
    (Failure.malformed('{"id": '), "failed to parse remote plugin catalog response from {url}: "
     "EOF while parsing a value at line 1 column 7"),
    (Failure.dropped(), "failed to send remote plugin catalog request to {url}: error sending request for url ({url})"),
]  # fmt: skip


@pytest.mark.parametrize(("failure", "reason"), MUTATION_FAILURES, ids=FAILURE_IDS)
def test_each_uninstall_failure_leaves_the_cache(
    app_server_factory: AppServerFactory, remote: Remote, failure: Failure, reason: str
) -> None:
    remote.backend.add(remote.https_plugin("plugins~slack", "slack"))
    client = remote.start(app_server_factory)
    install(client, "plugins~slack")
    cache_before = tree(plugin_cache(client, "slack"))
    remote.backend.fail("uninstall", failure)
    url = f"{remote.backend.base_url}/ps/plugins/plugins~slack/uninstall"
    assert rpc_error(lambda: client.request("plugin/uninstall", {"pluginId": "plugins~slack"})) == (
        -32603,
        "uninstall remote plugin: " + reason.format(url=url),
    )
    assert tree(plugin_cache(client, "slack")) == cache_before


@pytest.mark.parametrize(("failure", "reason"), MUTATION_FAILURES, ids=FAILURE_IDS)
def test_each_install_failure_is_reported_with_upstreams_text(
    app_server_factory: AppServerFactory, app_server_kind: str, remote: Remote, failure: Failure, reason: str
) -> None:
    remote.backend.add(remote.https_plugin("plugins~slack", "slack"))
    client = remote.start(app_server_factory)
    remote.backend.fail("install", failure)
    url = f"{remote.backend.base_url}/ps/plugins/plugins~slack/install?includeAppsNeedingAuth=true"
    assert rpc_error(lambda: install(client, "plugins~slack")) == (
        -32603,
        "install remote plugin: " + reason.format(url=url),
    )
    if app_server_kind != "codex":
        assert not plugin_cache(client, "slack").exists(), UPSTREAM_CACHES_BEFORE_THE_BACKEND_AGREES
