"""Wire views of marketplaces and plugins (PluginMarketplaceEntry, PluginSummary, PluginDetail)."""

from __future__ import annotations

from typing import Any

from server.config import Config
from server.plugins.manifest import read_manifest
from server.plugins.marketplace import Entry, Marketplace
from server.plugins.store import is_enabled, is_installed, plugin_id
from server.session import ServerContext


def summary(server: ServerContext, config: Config, marketplace: Marketplace, entry: Entry) -> dict[str, Any]:
    manifest = read_manifest(entry.path)
    identifier = plugin_id(entry.name, marketplace.name)
    installed = is_installed(server, entry.name, marketplace.name)
    return {
        "id": identifier,
        "remotePluginId": None,
        "version": None,
        "localVersion": manifest.version,
        "name": entry.name,
        "shareContext": None,
        "source": {"type": "local", "path": str(entry.path)},
        "installed": installed,
        "installedAt": None,
        "enabled": installed and is_enabled(config, identifier),
        "installPolicy": entry.install_policy,
        "installPolicySource": None,
        "mustShowInstallationInterstitial": None,
        "authPolicy": entry.auth_policy,
        "availability": "AVAILABLE",
        "disabledReason": None,
        "eligiblePlanTypes": None,
        "interface": manifest.interface(entry.category),
        "keywords": manifest.keywords,
    }


def offered_to(entry: Entry, product: str) -> bool:
    """A plugin whose policy names products is only offered to sessions of those products."""
    return not entry.products or product in entry.products


def marketplace_view(
    server: ServerContext,
    config: Config,
    marketplace: Marketplace,
    product: str,
    *,
    installed_only: bool = False,
) -> dict[str, Any]:
    plugins = [
        summary(server, config, marketplace, entry) for entry in marketplace.entries if offered_to(entry, product)
    ]
    if installed_only:
        plugins = [plugin for plugin in plugins if plugin["installed"]]
    return {
        "name": marketplace.name,
        "path": str(marketplace.path),
        "interface": {"displayName": marketplace.display_name},
        "plugins": plugins,
    }


def detail(
    server: ServerContext, config: Config, marketplace: Marketplace, entry: Entry, product: str
) -> dict[str, Any]:
    manifest = read_manifest(entry.path)
    return {
        "marketplaceName": marketplace.name,
        "marketplacePath": str(marketplace.path),
        "summary": summary(server, config, marketplace, entry),
        "shareUrl": None,
        "description": manifest.description,
        "skills": manifest.skills(entry.name, product),
        "onboardingSkill": None,
        "hooks": [],
        "apps": [],
        "appTemplates": [],
        "mcpServers": [],
        "scheduledTasks": None,
    }
