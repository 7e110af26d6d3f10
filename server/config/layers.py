"""Config layers: where values come from, in upstream's precedence order.

Highest first, as `config/read {includeLayers:true}` lists them: `-c` session flags, the selected
profile file (`$CODEX_HOME/<name>.config.toml`), the user file (`$CODEX_HOME/config.toml`), the system
file (`/etc/codex/config.toml`). A layer's version is `sha256:` of its values as compact JSON with
sorted keys — the digest upstream reports, so `expectedVersion` round-trips between servers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYSTEM_CONFIG = Path("/etc/codex/config.toml")


@dataclass(frozen=True)
class TomlProblem:
    """A file that is not TOML at all (as opposed to TOML with a wrong value)."""

    path: Path
    line: int
    column: int
    message: str


@dataclass
class Layer:
    source: dict[str, Any]
    """The wire `ConfigLayerSource`."""
    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    text: str = ""
    disabled_reason: str | None = None
    """Set for a layer that is shown but not applied (an untrusted project's `.codex/config.toml`)."""

    @property
    def version(self) -> str:
        import hashlib  # here: a server's first answers never need a layer's version

        encoded = json.dumps(self.values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(encoded.encode()).hexdigest()

    @property
    def metadata(self) -> dict[str, Any]:
        """The wire `ConfigLayerMetadata`."""
        return {"name": self.source, "version": self.version}

    def wire(self) -> dict[str, Any]:
        """The wire `ConfigLayer`."""
        layer = {**self.metadata, "config": self.values}
        if self.disabled_reason is not None:
            layer["disabledReason"] = self.disabled_reason
        return layer

    @property
    def label(self) -> str:
        """How warnings name this layer (`user (/path/config.toml)`)."""
        kind = str(self.source["type"])
        return f"{kind} ({self.path})" if self.path is not None else kind


def plain(value: Any) -> Any:
    """TOML values as JSON values: dates and times become their TOML text, as upstream reports them."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if hasattr(value, "isoformat"):  # among TOML values only dates and times have it (no datetime import)
        return value.isoformat()
    return value


TOML_POSITION = " (at line "


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """Parse a file's text; a syntax error becomes a TomlProblem with the position split out.

    tomllib is imported here: it compiles its regular expressions on import (several milliseconds), which
    a fresh server without config files (a new user, a test home) would otherwise pay before its first answer.
    """
    import tomllib

    try:
        return plain(tomllib.loads(text))  # type: ignore[no-any-return]
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line, column = 1, 1
        if TOML_POSITION in message:
            message, _, position = message.partition(TOML_POSITION)
            numbers = [int(part) for part in position.replace(",", " ").replace(")", " ").split() if part.isdigit()]
            if len(numbers) == 2:
                line, column = numbers
        raise ConfigFileError(TomlProblem(path, line, column, message)) from exc


class ConfigFileError(Exception):
    def __init__(self, problem: TomlProblem) -> None:
        super().__init__(f"{problem.path}:{problem.line}:{problem.column}: {problem.message}")
        self.problem = problem


def file_layer(source: dict[str, Any], path: Path) -> Layer:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Layer(source, {}, path, "")
    return Layer(source, parse_toml(path, text), path, text)


def set_dotted(target: dict[str, Any], key: list[str], value: Any) -> None:
    for part in key[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[key[-1]] = value


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, anything else in `top` replaces what `base` had."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def origins(layers: list[Layer]) -> dict[str, dict[str, Any]]:
    """Dotted key of every leaf value -> metadata of the layer it comes from (highest layer wins)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(table: dict[str, Any], prefix: str, layer: Layer) -> None:
        for key, value in table.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                walk(value, dotted + ".", layer)
            else:
                found[dotted] = layer.metadata

    for layer in reversed(layers):
        if layer.disabled_reason is None:
            walk(layer.values, "", layer)
    return found
