"""plugin/*: thin adapters over server.plugins, gated by the `plugins` feature as upstream gates them.

With the flag off, listing answers empty (not an error), reading is refused, and install/uninstall still
work: upstream 0.163 gates exactly that way, and clients rely on the list call never failing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from server.config import Config, effective_config
from server.config.base_urls import chatgpt_base_url
from server.config.features import is_enabled
from server.handlers.registry import method
from server.plugins import remote, store
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
REMOTE_AUTH_REQUIRED = "chatgpt authentication required for remote plugin catalog"


def product(server: ServerContext) -> str:
    """Which product this session is, for plugins whose policy names products (the session source)."""
    return server.options.session_source or DEFAULT_PRODUCT


def plugins_enabled(config: Config) -> bool:
    return is_enabled(config, "plugins")


def load_errors(errors: list[MarketplaceError]) -> list[dict[str, str]]:
    return [{"marketplacePath": str(error.path), "message": str(error)} for error in errors]


def local_marketplace(method_name: str, params: PluginReadParams) -> Marketplace:
    """The marketplace a read/install names; remote catalogs need ChatGPT sign-in we do not have here."""
    if (params.marketplace_path is None) == (params.remote_marketplace_name is None):
        raise InvalidRequest(f"{method_name} requires exactly one of marketplacePath or remoteMarketplaceName")
    if params.marketplace_path is None:
        during = " before install" if method_name == "plugin/install" else ""
        raise InvalidRequest(f"read remote plugin details{during}: {REMOTE_AUTH_REQUIRED}")
    path = Path(params.marketplace_path)
    if not path.exists():
        raise InvalidRequest(f"marketplace file `{path}` does not exist")
    try:
        return load_marketplace(path)
    except MarketplaceError as exc:
        raise InvalidRequest(str(exc)) from None


@method("plugin/list", PluginListParams)
async def list_plugins(session: Session, params: PluginListParams) -> dict[str, Any]:
    server = session.server
    config = effective_config(server)
    if not plugins_enabled(config):
        return {"marketplaces": [], "marketplaceLoadErrors": [], "featuredPluginIds": []}
    found = await asyncio.to_thread(discover, server.environ.get("HOME"), params.cwds or [])
    views = [marketplace_view(server, config, marketplace, product(server)) for marketplace in found.marketplaces]
    return {"marketplaces": views, "marketplaceLoadErrors": load_errors(found.errors), "featuredPluginIds": []}


@method("plugin/installed", PluginInstalledParams)
async def installed_plugins(session: Session, params: PluginInstalledParams) -> dict[str, Any]:
    server = session.server
    config = effective_config(server)
    if not plugins_enabled(config):
        return {"marketplaces": [], "marketplaceLoadErrors": []}
    found = await asyncio.to_thread(discover, server.environ.get("HOME"), params.cwds or [])
    views = [
        marketplace_view(server, config, marketplace, product(server), installed_only=True)
        for marketplace in found.marketplaces
    ]
    return {
        "marketplaces": [view for view in views if view["plugins"]],
        "marketplaceLoadErrors": load_errors(found.errors),
    }


@method("plugin/read", PluginReadParams)
async def read_plugin(session: Session, params: PluginReadParams) -> dict[str, Any]:
    server = session.server
    config = effective_config(server)
    if not plugins_enabled(config):
        raise InvalidRequest("plugins feature is disabled")
    marketplace = local_marketplace("plugin/read", params)
    entry = marketplace.entry(params.plugin_name)
    return {"plugin": await asyncio.to_thread(detail, server, config, marketplace, entry, product(server))}


@method("plugin/install", PluginInstallParams)
async def install_plugin(session: Session, params: PluginInstallParams) -> dict[str, Any]:
    server = session.server
    marketplace = local_marketplace("plugin/install", params)
    entry = marketplace.entry(params.plugin_name)
    if params.force_remote_sync:
        identifier = store.plugin_id(entry.name, marketplace.name)
        config = effective_config(server)
        await asyncio.to_thread(remote.sync, chatgpt_base_url(config), server.codex_home, identifier, "install")
    await asyncio.to_thread(store.install, server, marketplace, entry)
    return {"authPolicy": entry.auth_policy, "appsNeedingAuth": []}


@method("plugin/uninstall", PluginUninstallParams)
async def uninstall_plugin(session: Session, params: PluginUninstallParams) -> dict[str, Any]:
    server = session.server
    parts = store.split_plugin_id(params.plugin_id)
    if parts is None:
        if "@" in params.plugin_id:
            raise InvalidRequest("invalid remote plugin id")
        raise InvalidRequest(f"resolve remote plugin before uninstall: {REMOTE_AUTH_REQUIRED}")
    if params.force_remote_sync:
        config = effective_config(server)
        await asyncio.to_thread(remote.sync, chatgpt_base_url(config), server.codex_home, params.plugin_id, "uninstall")
    await asyncio.to_thread(store.uninstall, server, *parts)
    return {}
