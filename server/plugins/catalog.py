"""Wire views of marketplaces and plugins (PluginMarketplaceEntry, PluginSummary, PluginDetail)."""

from __future__ import annotations

from typing import Any

from server.config import Config
from server.context import ServerContext
from server.plugins import remote
from server.plugins.manifest import read_manifest
from server.plugins.marketplace import Entry, Marketplace
from server.plugins.prompts import normalise_default_prompt
from server.plugins.store import is_enabled, is_installed, plugin_id


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
        **unfilled_detail_fields(),
    }


def unfilled_detail_fields() -> dict[str, Any]:
    """The PluginDetail fields (upstream's schema) this server answers empty for every plugin, local or
    remote; fresh lists each call, so no answer shares a mutable value with another."""
    return {
        "onboardingSkill": None,
        "hooks": [],
        "apps": [],
        "appTemplates": [],
        "mcpServers": [],
        "scheduledTasks": None,
    }


def text_or_none(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    return value if isinstance(value, str) else None


def remote_interface(item: dict[str, Any]) -> dict[str, Any]:
    """PluginInterface from a backend item: `release.display_name` and `release.interface` (snake_case)."""
    release = remote.release(item)
    raw = release.get("interface")
    table: dict[str, Any] = raw if isinstance(raw, dict) else {}

    def strings(key: str) -> list[str]:
        value = table.get(key)
        return [entry for entry in value if isinstance(entry, str)] if isinstance(value, list) else []

    return {
        "displayName": text_or_none(release, "display_name"),
        "shortDescription": text_or_none(table, "short_description"),
        "longDescription": text_or_none(table, "long_description"),
        "developerName": text_or_none(table, "developer_name"),
        "category": text_or_none(table, "category"),
        "capabilities": strings("capabilities"),
        "websiteUrl": text_or_none(table, "website_url"),
        "privacyPolicyUrl": text_or_none(table, "privacy_policy_url"),
        "termsOfServiceUrl": text_or_none(table, "terms_of_service_url"),
        "defaultPrompt": normalise_default_prompt(table.get("default_prompts", table.get("default_prompt"))),
        "brandColor": text_or_none(table, "brand_color"),
        "composerIcon": None,
        "composerIconUrl": text_or_none(table, "composer_icon_url"),
        "logo": None,
        "logoDark": None,
        "logoUrl": text_or_none(table, "logo_url"),
        "logoUrlDark": None,
        "screenshots": [],
        "screenshotUrls": strings("screenshot_urls"),
    }


def remote_summary(
    item: dict[str, Any], *, installed: bool, enabled: bool, local_version: str | None
) -> dict[str, Any]:
    """PluginSummary of a backend plugin: id `<name>@openai-curated-remote`, `source {"type": "remote"}`."""
    release = remote.release(item)
    keywords = release.get("keywords")
    return {
        "id": plugin_id(item["name"], remote.REMOTE_MARKETPLACE),
        "remotePluginId": item["id"],
        "version": text_or_none(release, "version"),
        "localVersion": local_version,
        "name": item["name"],
        "shareContext": None,
        "source": {"type": "remote"},
        "installed": installed,
        "installedAt": None,
        "enabled": enabled,
        "installPolicy": text_or_none(item, "installation_policy") or "AVAILABLE",
        "installPolicySource": None,
        "mustShowInstallationInterstitial": None,
        "authPolicy": text_or_none(item, "authentication_policy") or "ON_INSTALL",
        "availability": text_or_none(item, "status") or "AVAILABLE",
        "disabledReason": None,
        "eligiblePlanTypes": None,
        "interface": remote_interface(item),
        "keywords": [word for word in keywords if isinstance(word, str)] if isinstance(keywords, list) else [],
    }


def remote_marketplace_view(plugins: list[dict[str, Any]]) -> dict[str, Any]:
    """The remote catalogue as a marketplace entry: no path, upstream's display name."""
    return {
        "name": remote.REMOTE_MARKETPLACE,
        "path": None,
        "interface": {"displayName": remote.REMOTE_MARKETPLACE_DISPLAY_NAME},
        "plugins": plugins,
    }


def remote_skill_interface(raw: Any) -> dict[str, Any] | None:
    """SkillInterface of a backend skill; null when the backend gave none of its fields."""
    table: dict[str, Any] = raw if isinstance(raw, dict) else {}
    view = {
        "displayName": text_or_none(table, "display_name"),
        "shortDescription": text_or_none(table, "short_description"),
        "iconSmall": None,
        "iconLarge": None,
        "iconSmallUrl": text_or_none(table, "icon_small_url"),
        "iconLargeUrl": text_or_none(table, "icon_large_url"),
        "brandColor": text_or_none(table, "brand_color"),
        "defaultPrompt": text_or_none(table, "default_prompt"),
    }
    return view if any(value is not None for value in view.values()) else None


def remote_skills(item: dict[str, Any], disabled: set[str]) -> list[dict[str, Any]]:
    """`release.skills`, named as the backend names them (no `<plugin>:` prefix), without a local path."""
    raw = remote.release(item).get("skills")
    skills = []
    for skill in raw if isinstance(raw, list) else []:
        if not isinstance(skill, dict) or not isinstance(skill.get("name"), str):
            continue
        interface = skill.get("interface")
        skills.append(
            {
                "name": skill["name"],
                "description": text_or_none(skill, "description") or "",
                "shortDescription": text_or_none(interface, "short_description")
                if isinstance(interface, dict)
                else None,
                "interface": remote_skill_interface(interface),
                "path": None,
                "enabled": skill["name"] not in disabled,
            }
        )
    return skills


def remote_detail(item: dict[str, Any], summary_view: dict[str, Any], disabled: set[str]) -> dict[str, Any]:
    release = remote.release(item)
    return {
        "marketplaceName": remote.REMOTE_MARKETPLACE,
        "marketplacePath": None,
        "summary": summary_view,
        "shareUrl": None,
        "description": text_or_none(release, "description"),
        "skills": remote_skills(item, disabled),
        **unfilled_detail_fields(),
    }
