"""Installed plugins: the cache under `$CODEX_HOME/plugins/cache` and the `[plugins."id"]` config entries.

Install copies into a temporary sibling and renames it into place, and uninstall removes the config
entry before the files, so an interrupted call leaves either the old state or a cache dir nobody points
at — never a config entry pointing at half a copy.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from server.config import Config
from server.config.writer import Edit, write
from server.context import ServerContext
from server.plugins.manifest import read_manifest
from server.plugins.marketplace import Entry, Marketplace

LOCAL_VERSION = "local"
"""Cache directory name for a plugin whose manifest has no version."""


def plugin_id(plugin_name: str, marketplace_name: str) -> str:
    return f"{plugin_name}@{marketplace_name}"


def split_plugin_id(value: str) -> tuple[str, str] | None:
    """`name@marketplace` -> (name, marketplace); None for anything else, which upstream takes for a
    remote plugin id."""
    name, sep, marketplace = value.partition("@")
    return (name, marketplace) if sep and name and marketplace and "@" not in marketplace else None


def cache_root(server: ServerContext) -> Path:
    return server.codex_home / "plugins" / "cache"


def plugin_cache(server: ServerContext, plugin_name: str, marketplace_name: str) -> Path:
    return cache_root(server) / marketplace_name / plugin_name


def is_installed(server: ServerContext, plugin_name: str, marketplace_name: str) -> bool:
    directory = plugin_cache(server, plugin_name, marketplace_name)
    return directory.is_dir() and any(child.is_dir() for child in directory.iterdir())


def is_enabled(config: Config, identifier: str) -> bool:
    plugins = config.get("plugins")
    entry: Any = plugins.get(identifier) if isinstance(plugins, dict) else None
    return isinstance(entry, dict) and entry.get("enabled") is True


def install(server: ServerContext, marketplace: Marketplace, entry: Entry) -> None:
    """Copy the plugin into the cache (replacing an older copy) and enable it in the user config."""
    version = read_manifest(entry.path).version or LOCAL_VERSION
    target = plugin_cache(server, entry.name, marketplace.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=target.parent))
    try:
        shutil.copytree(entry.path, staging / version, symlinks=True)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    edit = Edit.at(("plugins", plugin_id(entry.name, marketplace.name)), {"enabled": True})
    write(server, [edit], file_path=None, expected_version=None)


def uninstall(server: ServerContext, plugin_name: str, marketplace_name: str) -> None:
    """Forget the config entry, then the cached copy; uninstalling twice is not an error."""
    edit = Edit.at(("plugins", plugin_id(plugin_name, marketplace_name)), None)
    write(server, [edit], file_path=None, expected_version=None)
    shutil.rmtree(plugin_cache(server, plugin_name, marketplace_name), ignore_errors=True)
