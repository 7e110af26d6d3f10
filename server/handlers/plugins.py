"""plugin/*: thin adapters over server.plugins, gated by the `plugins` feature as upstream gates them.

With the flag off, listing answers empty (not an error), reading is refused, and install/uninstall still
work: upstream 0.163 gates exactly that way, and clients rely on the list call never failing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from server.config import Config, effective_config
from server.config.features import is_enabled
from server.handlers.registry import method
from server.plugins import remote, remote_plugins, sources, store
from server.plugins.catalog import detail, marketplace_view
from server.plugins.marketplace import Marketplace, MarketplaceError, discover, load_marketplace
from server.protocol.errors import InvalidRequest
from server.protocol.plugins import (
    PluginInstalledParams,
    PluginInstallParams,
    PluginListParams,
    PluginReadParams,
    PluginUninstallParams,
)
from server.session import ServerContext, Session

DEFAULT_PRODUCT = "codex"


def product(server: ServerContext) -> str:
    """Which product this session is, for plugins whose policy names products (the session source)."""
    return server.options.session_source or DEFAULT_PRODUCT


def plugins_enabled(config: Config) -> bool:
    return is_enabled(config, "plugins")


def added(server: ServerContext, config: Config) -> list[Path]:
    """Marketplace files of the `[marketplaces.*]` that marketplace/add recorded."""
    table = config.get("marketplaces")
    return sources.configured_files(server.codex_home, table) if isinstance(table, dict) else []


def load_errors(errors: list[MarketplaceError]) -> list[dict[str, str]]:
    return [{"marketplacePath": str(error.path), "message": str(error)} for error in errors]


def remote_name(method_name: str, params: PluginReadParams) -> str | None:
    """The remote plugin id a read/install names, or None when it names a local marketplace file."""
    if (params.marketplace_path is None) == (params.remote_marketplace_name is None):
        raise InvalidRequest(f"{method_name} requires exactly one of marketplacePath or remoteMarketplaceName")
    if params.marketplace_path is not None:
        return None
    if not remote.is_valid_remote_id(params.plugin_name):
        raise InvalidRequest(remote.INVALID_ID)
    return params.plugin_name


def require_sign_in(server: ServerContext, context: str) -> None:
    if not remote_plugins.signed_in(server):
        raise InvalidRequest(f"{context}: {remote.AUTH_REQUIRED}")


def local_marketplace(params: PluginReadParams) -> Marketplace:
    path = Path(str(params.marketplace_path))
    if not path.exists():
        raise InvalidRequest(f"marketplace file `{path}` does not exist")
    return load_marketplace(path)


@method("plugin/list", PluginListParams)
async def list_plugins(session: Session, params: PluginListParams) -> dict[str, Any]:
    server = session.server
    config = effective_config(server)
    if not plugins_enabled(config):
        return {"marketplaces": [], "marketplaceLoadErrors": [], "featuredPluginIds": []}
    found = await asyncio.to_thread(discover, server.environ.get("HOME"), params.cwds or [], added(server, config))
    views = [marketplace_view(server, config, marketplace, product(server)) for marketplace in found.marketplaces]
    if remote_plugins.signed_in(server):
        listed = await asyncio.to_thread(remote_plugins.listed_marketplace, server)
        views += [listed] if listed is not None else []
    return {"marketplaces": views, "marketplaceLoadErrors": load_errors(found.errors), "featuredPluginIds": []}


@method("plugin/installed", PluginInstalledParams)
async def installed_plugins(session: Session, params: PluginInstalledParams) -> dict[str, Any]:
    server = session.server
    config = effective_config(server)
    if not plugins_enabled(config):
        return {"marketplaces": [], "marketplaceLoadErrors": []}
    found = await asyncio.to_thread(discover, server.environ.get("HOME"), params.cwds or [], added(server, config))
    views = [
        marketplace_view(server, config, marketplace, product(server), installed_only=True)
        for marketplace in found.marketplaces
    ]
    views = [view for view in views if view["plugins"]]
    if remote_plugins.signed_in(server):
        installed = await asyncio.to_thread(remote_plugins.installed_marketplace, server)
        views += [installed] if installed is not None else []
    return {
        "marketplaces": views,
        "marketplaceLoadErrors": load_errors(found.errors),
    }


@method("plugin/read", PluginReadParams)
async def read_plugin(session: Session, params: PluginReadParams) -> dict[str, Any]:
    server = session.server
    config = effective_config(server)
    if not plugins_enabled(config):
        raise InvalidRequest("plugins feature is disabled")
    remote_id = remote_name("plugin/read", params)
    if remote_id is not None:
        require_sign_in(server, "read remote plugin details")
        return {"plugin": await asyncio.to_thread(remote_plugins.read, server, remote_id)}
    marketplace = local_marketplace(params)
    entry = marketplace.entry(params.plugin_name)
    return {"plugin": await asyncio.to_thread(detail, server, config, marketplace, entry, product(server))}


@method("plugin/install", PluginInstallParams)
async def install_plugin(session: Session, params: PluginInstallParams) -> dict[str, Any]:
    server = session.server
    remote_id = remote_name("plugin/install", params)
    if remote_id is not None:
        require_sign_in(server, "read remote plugin details before install")
        policy = await asyncio.to_thread(remote_plugins.install, server, remote_id)
        return {"authPolicy": policy, "appsNeedingAuth": []}
    marketplace = local_marketplace(params)
    entry = marketplace.entry(params.plugin_name)
    await asyncio.to_thread(store.install, server, marketplace, entry)
    return {"authPolicy": entry.auth_policy, "appsNeedingAuth": []}


@method("plugin/uninstall", PluginUninstallParams)
async def uninstall_plugin(session: Session, params: PluginUninstallParams) -> dict[str, Any]:
    server = session.server
    parts = store.split_plugin_id(params.plugin_id)
    if parts is None:
        if not remote.is_valid_remote_id(params.plugin_id):
            raise InvalidRequest("invalid remote plugin id")
        require_sign_in(server, "resolve remote plugin before uninstall")
        await asyncio.to_thread(remote_plugins.uninstall, server, params.plugin_id)
        return {}
    await asyncio.to_thread(store.uninstall, server, *parts)
    return {}
