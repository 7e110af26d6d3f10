"""Feature flags: one table (server.config.feature_table) and the rules that turn config into state.

- `[features] name = true|false` in any layer (or `-c features.name=...`) sets a flag; unset flags take
  the table's default.
- Some flags (mostly removed ones) are pinned to their default: kept only so old configs still parse.
- Deprecated flags still work but each one set earns a `configWarning`, so users move off them.
- Renamed flags go through ALIASES to their current name. `guardian_approval` is special: besides being
  a flag, setting it to true in a layer that does not also set `approvals_reviewer` makes that layer's
  reviewer `guardian_subagent` (see server.config.reviewer), so pre-rename configs keep their behaviour.
  `smart_approvals` is only a UI rollout gate and never changes the reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.config import Config
from server.config.defaults import DEFAULT_CONFIG
from server.config.feature_table import ALIASES, ROWS, BetaCopy

PINNED = frozenset(
    {
        "transcript_v2",
        "undo",
        "unified_exec",
        "shell_zsh_fork",
        "unified_exec_zsh_fork",
        "js_repl",
        "js_repl_tools_only",
        "terminal_resize_reflow",
        "apply_patch_freeform",
        "apps_mcp_path_override",
        "tool_search",
        "tool_search_always_defer_mcp_tools",
        "plugin_hooks",
        "resize_all_images",
        "item_ids",
        "skill_env_var_dependency_prompt",
        "personality",
        "remote_control",
        "image_detail_original",
        "tui_app_server",
        "remote_compaction_v2",
    }
)
"""Flags upstream reports at their default whatever the config says. Measured, not derived from the
stage: upstream was given every flag flipped and these stayed put (most are removed flags, but other
removed flags such as `elevated_windows_sandbox` still follow the config)."""

RUNTIME_SETTABLE = frozenset(DEFAULT_CONFIG["features"])
"""Flags `experimentalFeature/enablement/set` may change: exactly the ones upstream's typed features
struct carries (measured by asking upstream to flip every flag; it applied these and ignored the rest)."""


@dataclass(frozen=True)
class Feature:
    name: str
    stage: str
    default: bool
    copy: BetaCopy | None


FEATURES: dict[str, Feature] = {name: Feature(name, stage, default, copy) for name, stage, default, copy in ROWS}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def configured(config: Config) -> dict[str, bool]:
    """What the layers say, keyed by current flag name (an alias and its flag: the later key wins)."""
    table = config.get("features")
    if not isinstance(table, dict):
        return {}
    return {canonical(key): item for key, item in table.items() if isinstance(item, bool)}


def state(feature: Feature, explicit: dict[str, bool], runtime: dict[str, bool]) -> bool:
    if feature.name in PINNED:
        return feature.default
    value = explicit.get(feature.name)
    if value is None:
        value = runtime.get(feature.name)
    return feature.default if value is None else value


def is_enabled(config: Config, name: str) -> bool:
    """Effective state of a flag; an unknown name is off."""
    feature = FEATURES.get(canonical(name))
    return feature is not None and state(feature, configured(config), config.runtime_features)


def set_runtime(config: Config, enablement: dict[str, bool]) -> dict[str, bool]:
    """Apply the settable entries of `enablement` process-wide; returns what was applied."""
    applied = {name: value for name, value in enablement.items() if name in RUNTIME_SETTABLE}
    config.runtime_features.update(applied)
    return applied


def to_wire(feature: Feature, enabled: bool) -> dict[str, Any]:
    name, description, announcement = feature.copy or (None, None, None)
    return {
        "name": feature.name,
        "stage": feature.stage,
        "displayName": name,
        "description": description,
        "announcement": announcement,
        "enabled": enabled,
        "defaultEnabled": feature.default,
    }


def listing(config: Config) -> list[dict[str, Any]]:
    """Every feature in table order with its effective state (the `experimentalFeature/list` rows)."""
    explicit = configured(config)
    return [to_wire(feature, state(feature, explicit, config.runtime_features)) for feature in FEATURES.values()]


def deprecation_warnings(config: Config) -> list[dict[str, Any]]:
    """One `configWarning` per deprecated flag a layer sets, naming the file that sets it."""
    warnings = []
    for layer in reversed(config.applied()):
        table = layer.values.get("features")
        if not isinstance(table, dict):
            continue
        for key in table:
            feature = FEATURES.get(canonical(key))
            if feature is None or feature.stage != "deprecated":
                continue
            where = f" in {layer.path}" if layer.path else ""
            warnings.append(
                {
                    "summary": f"`[features].{key}` is deprecated{where} and will be removed; remove it.",
                    "details": None,
                    "path": str(layer.path) if layer.path else None,
                }
            )
    return warnings
