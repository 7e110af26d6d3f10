"""Effective configuration: one resolver over every config layer, read by every handler.

Handlers read settings only through `effective_config(session.server)`; no handler parses TOML itself.
`Config.get("dotted.key")` answers from the configured layers only (None/default when nobody set it),
`Config.tree()` is the whole effective config with upstream's defaults, as `config/read` reports it.

The files are re-read when they change on disk (stat fingerprint), because upstream answers `config/read`
from the files of the moment and a value write must be visible to the next request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.config.defaults import DEFAULT_CONFIG, PROFILE_KEYS
from server.config.layers import (
    SYSTEM_CONFIG,
    ConfigFileError,
    Layer,
    file_layer,
    merge,
    origins,
    set_dotted,
)
from server.config.locate import locate
from server.config.schema import type_problems, unknown_keys
from server.context import ServerContext
from server.protocol.errors import InvalidRequest


@dataclass(frozen=True)
class ConfigProblem:
    """Why the configured layers were rejected (the server then runs on defaults, as upstream does)."""

    read_message: str
    """What `config/read` answers (-32603)."""
    details: str
    """The `configWarning` details sent to each client at connect."""
    path: Path | None = None
    line: int = 0
    start: int = 0
    end: int = 0

    def warning(self) -> dict[str, Any]:
        params: dict[str, Any] = {"summary": "Invalid configuration; using defaults.", "details": self.details}
        if self.path is not None:
            params["path"] = str(self.path)
            params["range"] = {
                "start": {"line": self.line, "column": self.start},
                "end": {"line": self.line, "column": self.end},
            }
        return params


@dataclass
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    """The configured values, layers merged (no defaults)."""
    layers: list[Layer] = field(default_factory=list)
    """Highest precedence first."""
    problem: ConfigProblem | None = None
    runtime_features: dict[str, bool] = field(default_factory=dict)
    """Process-wide flags set by `experimentalFeature/enablement/set`; any config layer outranks them."""

    def get(self, dotted_key: str, default: Any = None) -> Any:
        """`config.get("features.plugins")`: a nested value, or `default` when any part is absent."""
        current: Any = self.values
        for part in dotted_key.split("."):
            if not isinstance(current, dict) or part not in current:
                return default
            current = current[part]
        return current

    def tree(self) -> dict[str, Any]:
        """The effective config as `config/read` reports it: upstream's defaults under the layers."""
        tree = merge(merge(DEFAULT_CONFIG, {"features": self.runtime_features}), self.values)
        profiles = tree.get("profiles")
        if isinstance(profiles, dict):
            empty = dict.fromkeys(PROFILE_KEYS)
            tree["profiles"] = {
                name: merge(empty, profile) if isinstance(profile, dict) else profile
                for name, profile in profiles.items()
            }
        return tree

    def origins(self) -> dict[str, dict[str, Any]]:
        return origins(self.layers)

    def applied(self) -> list[Layer]:
        """The layers whose values count, highest first (a listed-but-disabled layer does not)."""
        return [layer for layer in self.layers if layer.disabled_reason is None]

    def origin_of(self, key: tuple[str, ...]) -> Layer | None:
        """The highest layer that sets `key` (or a table above it)."""
        for layer in self.applied():
            current: Any = layer.values
            for part in key:
                if not isinstance(current, dict) or part not in current:
                    break
                current = current[part]
            else:
                return layer
        return None

    def unknown_key_warning(self) -> dict[str, Any] | None:
        """upstream's one `configWarning` listing ignored settings (first three, then a count)."""
        found = [(layer, key) for layer in reversed(self.layers) if layer.path for key in unknown_keys(layer.values)]
        if not found:
            return None
        noun = "setting" if len(found) == 1 else "settings"
        lines = [
            f"Codex is ignoring {len(found)} unrecognized configuration {noun}. Check for typos or deprecated settings."
        ]
        lines += [f"  {layer.label}: `{key}` is ignored." for layer, key in found[:3]]
        if len(found) > 3:
            lines.append(f"  ... and {len(found) - 3} more ignored settings.")
        return {"summary": "\n".join(lines), "details": None}


def parse_override(text: str) -> tuple[list[str], Any]:
    """`key.sub=value`: the value is TOML when it parses as TOML, otherwise the raw string (as upstream)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidRequest(f"invalid -c override {text!r}: expected key=value")
    import tomllib  # here, not at the top: a server without config files or overrides never needs it

    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return [part.strip() for part in key.split(".")], value


def user_config_path(server: ServerContext) -> Path:
    return server.codex_home / "config.toml"


def profile_name(server: ServerContext) -> str | None:
    return server.options.profile


def trusted(user: Layer, directory: Path) -> bool:
    projects = user.values.get("projects")
    entry = projects.get(str(directory)) if isinstance(projects, dict) else None
    return isinstance(entry, dict) and entry.get("trust_level") == "trusted"


def project_layer(user: Layer, cwd: Path) -> Layer | None:
    """`<cwd>/.codex/config.toml`, applied only when `cwd` is a trusted project in the user config.

    Measured on upstream 0.163: only the cwd's own `.codex` folder is read (not its parents'), and an
    untrusted one is still listed, with the reason it was not applied.
    """
    folder = cwd / ".codex"
    path = folder / "config.toml"
    if not path.is_file():
        return None
    layer = file_layer({"type": "project", "dotCodexFolder": str(folder)}, path)
    if not trusted(user, cwd):
        layer.disabled_reason = (
            f"To load project-local config, hooks, and exec policies, add {cwd} as a trusted project in {user.path}."
        )
    return layer


def read_layers(server: ServerContext, cwd: Path | None = None) -> list[Layer]:
    """Every layer, highest precedence first. Raises ConfigFileError for a file that is not TOML."""
    layers: list[Layer] = []
    if server.options.config_overrides:
        flags: dict[str, Any] = {}
        for override in server.options.config_overrides:
            keys, value = parse_override(override)
            set_dotted(flags, keys, value)
        layers.append(Layer({"type": "sessionFlags"}, flags))
    path = user_config_path(server)
    user = file_layer({"type": "user", "file": str(path), "profile": None}, path)
    project = project_layer(user, cwd) if cwd is not None else None
    if project is not None:
        layers.append(project)
    profile = profile_name(server)
    if profile:
        profile_path = server.codex_home / f"{profile}.config.toml"
        layers.append(file_layer({"type": "user", "file": str(profile_path), "profile": profile}, profile_path))
    layers.append(user)
    layers.append(file_layer({"type": "system", "file": str(SYSTEM_CONFIG)}, SYSTEM_CONFIG))
    return layers


def check_layers(layers: list[Layer]) -> ConfigProblem | None:
    """The first reason upstream would refuse these layers, checked in upstream's order."""
    for layer in reversed(layers):
        if layer.disabled_reason is not None:
            continue
        for problem in type_problems(layer.values):
            span = locate(layer.text, problem.key) if layer.path else None
            where = f"{layer.path}:{span.line}:{span.start}: " if span else ""
            return ConfigProblem(
                read_message=f"invalid configuration: {problem.message}\nin `{problem.reported}`\n",
                details=f"{where}{problem.message}",
                path=layer.path if span else None,
                line=span.line if span else 0,
                start=span.start if span else 0,
                end=span.end if span else 0,
            )
    for layer in layers:
        legacy = layer.values.get("profile")
        if isinstance(legacy, str):
            message = (
                f'legacy `profile = "{legacy}"` config is no longer supported; '
                f"use `--profile {legacy}` with `{legacy}.config.toml` instead"
            )
            return ConfigProblem(f"failed to resolve feature override precedence: {message}", message)
    return None


def load(server: ServerContext, cwd: Path | None = None) -> Config:
    """Resolve every layer; `cwd` adds that directory's project layer (config/read's `cwd`)."""
    try:
        layers = read_layers(server, cwd)
    except ConfigFileError as exc:
        toml = exc.problem
        return Config(
            problem=ConfigProblem(
                read_message=f"failed to read configuration layers: {exc}",
                details=str(exc),
                path=toml.path,
                line=toml.line,
                start=toml.column,
                end=toml.column,
            )
        )
    problem = check_layers(layers)
    if problem is not None:
        return Config(layers=layers, problem=problem)
    values: dict[str, Any] = {}
    for layer in reversed(layers):
        if layer.disabled_reason is None:
            values = merge(values, layer.values)
    return Config(values, layers)


def fingerprint(server: ServerContext) -> tuple[Any, ...]:
    """What changes when a config file changes: stat of every file layer."""
    paths = [user_config_path(server), SYSTEM_CONFIG]
    profile = profile_name(server)
    if profile:
        paths.append(server.codex_home / f"{profile}.config.toml")
    stats: list[Any] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            stats.append(None)
        else:
            stats.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(stats)


class ConfigCache:
    """One resolved Config per server process, re-resolved when a config file changes."""

    def __init__(self, server: ServerContext) -> None:
        self.server = server
        self.runtime_features: dict[str, bool] = {}
        self._config: Config | None = None
        self._fingerprint: tuple[Any, ...] = ()

    def current(self) -> Config:
        now = fingerprint(self.server)
        if self._config is None or now != self._fingerprint:
            self._config = load(self.server)
            self._config.runtime_features = self.runtime_features
            self._fingerprint = now
        return self._config

    def invalidate(self) -> None:
        self._config = None


def effective_config(server: ServerContext, cwd: Path | None = None) -> Config:
    """The server's configuration as of now; with `cwd`, as seen from that directory (never cached)."""
    cache = server.shared(ConfigCache, ConfigCache)
    if cwd is None:
        return cache.current()
    config = load(server, cwd)
    config.runtime_features = cache.runtime_features
    return config
