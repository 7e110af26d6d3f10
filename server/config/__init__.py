"""Effective configuration: `$CODEX_HOME/config.toml` under `-c key=value` overrides.

Handlers read settings only through `effective_config(session.server)`; no handler parses TOML itself.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from server.protocol.errors import InvalidRequest
from server.session import ServerContext

MISSING: Any = object()


@dataclass
class Config:
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, dotted_key: str, default: Any = None) -> Any:
        """`config.get("features.plugins")`: a nested value, or `default` when any part is absent."""
        current: Any = self.values
        for part in dotted_key.split("."):
            if not isinstance(current, dict) or part not in current:
                return default
            current = current[part]
        return current


def parse_override(text: str) -> tuple[list[str], Any]:
    """`key.sub=value`: the value is TOML when it parses as TOML, otherwise the raw string (as upstream)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidRequest(f"invalid -c override {text!r}: expected key=value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return [part.strip() for part in key.split(".")], value


def load(server: ServerContext) -> Config:
    path = server.codex_home / "config.toml"
    values: dict[str, Any] = {}
    if path.is_file():
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    for override in server.options.config_overrides:
        keys, value = parse_override(override)
        target = values
        for part in keys[:-1]:
            target = target.setdefault(part, {})
        target[keys[-1]] = value
    return Config(values)


def effective_config(server: ServerContext) -> Config:
    """The server's configuration, loaded once per process."""
    return server.shared(load, Config)
