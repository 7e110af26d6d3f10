"""Wire models of plugin/* params (upstream schema: Plugin*Params). Results are built as plain JSON by
server.plugins.catalog, whose shapes the upstream schema checks in tests."""

from __future__ import annotations

from server.protocol.base import AbsolutePath, WireModel


class PluginListParams(WireModel):
    cwds: list[AbsolutePath] | None = None
    force_refetch: bool = False
    marketplace_kinds: list[str] | None = None


class PluginInstalledParams(WireModel):
    cwds: list[AbsolutePath] | None = None
    install_suggestion_plugin_names: list[str] | None = None


class PluginReadParams(WireModel):
    plugin_name: str
    marketplace_path: AbsolutePath | None = None
    remote_marketplace_name: str | None = None


class PluginInstallParams(PluginReadParams):
    install_attempt_id: str | None = None


class PluginUninstallParams(WireModel):
    plugin_id: str
