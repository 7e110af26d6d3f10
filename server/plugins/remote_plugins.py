"""Remote plugins (the `openai-curated-remote` catalogue) as plugin/* serves them, in upstream 0.163's call order.

- listed: `GET ps/plugins/list?scope=GLOBAL&limit=200` and `GET ps/plugins/installed?scope=GLOBAL`;
- installed: `GET ps/plugins/installed?limit=200`;
- read: `GET ps/plugins/<id>`, then `GET ps/plugins/installed?scope=GLOBAL`;
- install: `GET ps/plugins/<id>?includeDownloadUrls=true`, `GET ps/plugins/installed?scope=GLOBAL`, the
  bundle download, `POST ps/plugins/<id>/install?includeAppsNeedingAuth=true`, then a refresh
  `GET ps/plugins/installed?limit=200`;
- uninstall: `GET ps/plugins/<id>`, `POST ps/plugins/<id>/uninstall`, the refresh.

The local cache only changes after the backend agreed: install unpacks into staging, and moves it into the
cache after the POST succeeded (upstream 0.163 moves it in before the POST, so a refused install leaves a
cache directory the backend does not know about); uninstall removes the cache after the POST succeeded.
Listing calls swallow backend errors as upstream does: plugin/installed answers the last good state,
plugin/list nothing remote.
"""

from __future__ import annotations

import threading
from typing import Any

from server.config import effective_config
from server.config.base_urls import chatgpt_base_url
from server.context import ServerContext
from server.plugins import bundle, remote
from server.plugins.catalog import remote_detail, remote_marketplace_view, remote_summary
from server.plugins.login import credentials
from server.plugins.remote import REMOTE_MARKETPLACE, CatalogError, RemoteCatalog
from server.protocol.errors import InternalError, InvalidRequest


def catalog_for(server: ServerContext) -> RemoteCatalog:
    return RemoteCatalog(chatgpt_base_url(effective_config(server)), credentials(server.codex_home))


def signed_in(server: ServerContext) -> bool:
    return credentials(server.codex_home) is not None


class LastGood:
    """The last installed list that decoded, per server: upstream answers plugin/installed from such a
    cache and keeps it when a refresh fails, so a flaky backend does not make installed plugins vanish.
    plugin/list asks the backend every time and shows nothing remote when that fails, as upstream does."""

    def __init__(self, server: ServerContext) -> None:
        self.lock = threading.Lock()
        self.installed: list[dict[str, Any]] | None = None


def last_good(server: ServerContext) -> LastGood:
    return server.shared(LastGood, LastGood)


def fetch_installed(server: ServerContext, catalog: RemoteCatalog) -> list[dict[str, Any]] | None:
    memory = last_good(server)
    try:
        items = catalog.installed()
    except CatalogError:
        with memory.lock:
            return memory.installed
    with memory.lock:
        memory.installed = items
    return items


def installed_marketplace(server: ServerContext) -> dict[str, Any] | None:
    """plugin/installed's remote entry: what the backend says is installed (None when unknown)."""
    items = fetch_installed(server, catalog_for(server))
    plugins = [
        remote_summary(item, installed=True, enabled=item.get("enabled") is True, local_version=None)
        for item in items or []
    ]
    return remote_marketplace_view(plugins) if plugins else None


def listed_marketplace(server: ServerContext) -> dict[str, Any] | None:
    """plugin/list's remote entry: the directory, in the backend's order, then installed-only plugins."""
    catalog = catalog_for(server)
    try:
        directory = catalog.directory()
        installed = {item["id"]: item for item in catalog.installed_global()}
    except CatalogError:
        return None
    items = {item["id"]: item for item in directory}
    items.update({key: value for key, value in installed.items() if key not in items})
    plugins = []
    for item in items.values():
        state = installed.get(item["id"])
        local = remote.release(state).get("version") if state is not None else None
        enabled = state is not None and state.get("enabled") is True
        plugins.append(remote_summary(item, installed=state is not None, enabled=enabled, local_version=local))
    return remote_marketplace_view(plugins) if plugins else None


def installed_state(catalog: RemoteCatalog, context: str, error: type[Exception]) -> dict[str, dict[str, Any]]:
    try:
        return {item["id"]: item for item in catalog.installed_global()}
    except CatalogError as exc:
        raise error(f"{context}: {exc}") from None


def read(server: ServerContext, remote_id: str) -> dict[str, Any]:
    catalog = catalog_for(server)
    try:
        item = catalog.detail(remote_id)
    except CatalogError as exc:
        raise InvalidRequest(f"read remote plugin details: {exc}") from None
    state = installed_state(catalog, "read remote plugin details", InvalidRequest).get(remote_id)
    local = bundle.cached_version(server.codex_home, REMOTE_MARKETPLACE, item["name"])
    enabled = state is not None and state.get("enabled") is True
    summary = remote_summary(item, installed=state is not None, enabled=enabled, local_version=local)
    names = state.get("disabled_skill_names") if state is not None else None
    disabled = {name for name in names if isinstance(name, str)} if isinstance(names, list) else set()
    return remote_detail(item, summary, disabled)


def install(server: ServerContext, remote_id: str) -> str:
    """Install a remote plugin; returns its auth policy. Raises with upstream's -32603 texts."""
    catalog = catalog_for(server)
    context = "read remote plugin details before install"
    try:
        item = catalog.detail(remote_id, download_urls=True)
    except CatalogError as exc:
        raise InternalError(f"{context}: {exc}") from None
    installed_state(catalog, context, InternalError)
    release = remote.release(item)
    try:
        plan = bundle.plan(remote_id, item["name"], release.get("version"), release.get("bundle_download_url"))
        staged = bundle.stage(server.codex_home, bundle.download(plan, server.environ))
    except bundle.BundleError as exc:
        raise InternalError(f"install remote plugin bundle: {exc}") from None
    try:
        catalog.change(remote_id, "install")
    except CatalogError as exc:
        bundle.discard(staged)
        raise InternalError(f"install remote plugin: {exc}") from None
    try:
        bundle.commit(server.codex_home, REMOTE_MARKETPLACE, plan, staged)
    except OSError as exc:
        bundle.discard(staged)
        raise InternalError(f"install remote plugin bundle: {exc}") from None
    fetch_installed(server, catalog)
    policy = item.get("authentication_policy")
    return policy if isinstance(policy, str) else "ON_INSTALL"


def uninstall(server: ServerContext, remote_id: str) -> None:
    catalog = catalog_for(server)
    try:
        item = catalog.detail(remote_id)
    except CatalogError as exc:
        raise InternalError(f"resolve remote plugin before uninstall: {exc}") from None
    try:
        catalog.change(remote_id, "uninstall")
    except CatalogError as exc:
        raise InternalError(f"uninstall remote plugin: {exc}") from None
    bundle.remove(server.codex_home, REMOTE_MARKETPLACE, item["name"])
    fetch_installed(server, catalog)


def sync_installed_bundles(server: ServerContext) -> list[tuple[str, str | None]]:
    """Fetch the bundle of every enabled installed remote plugin not cached at its release version.

    Returns (plugin name, problem or None) per plugin it tried; the backend is not changed.
    """
    items = catalog_for(server).installed(download_urls=True)
    memory = last_good(server)
    with memory.lock:
        memory.installed = items
    results: list[tuple[str, str | None]] = []
    for item in items:
        release = remote.release(item)
        if item.get("enabled") is not True:
            continue
        cached = bundle.cached_version(server.codex_home, REMOTE_MARKETPLACE, item["name"])
        if cached is not None and cached == release.get("version"):
            continue
        try:
            plan = bundle.plan(item["id"], item["name"], release.get("version"), release.get("bundle_download_url"))
            staged = bundle.stage(server.codex_home, bundle.download(plan, server.environ))
            try:
                bundle.commit(server.codex_home, REMOTE_MARKETPLACE, plan, staged)
            finally:
                bundle.discard(staged)
        except (bundle.BundleError, OSError) as exc:
            results.append((item["name"], str(exc)))
            continue
        results.append((item["name"], None))
    return results
