"""Value writes to the user's config.toml: round-trip edits (comments and layout kept), atomic replace.

An edit is checked against the same type rules as loading before anything touches the disk, and the
file is swapped in by codex_app_tools.atomic (temp file, fsync, rename, fsync directory), so a crash or
a rejected edit never leaves a half-written config. `expectedVersion` is compared with the user layer's
version (upstream's digest), so two clients editing at once do not silently overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomlkit
from tomlkit.items import Table
from tomlkit.toml_document import TOMLDocument

from codex_app_tools.atomic import atomic_write
from server.config import Config, ConfigCache, effective_config, user_config_path
from server.config.layers import Layer, parse_toml
from server.config.schema import type_problems
from server.context import ServerContext
from server.protocol.errors import InvalidRequest

MergeStrategy = Literal["replace", "upsert"]


@dataclass(frozen=True)
class Edit:
    key_path: str
    value: Any
    merge_strategy: MergeStrategy
    parts: tuple[str, ...] | None = None
    """Key segments when a segment itself holds a dot (`plugins."a.b@mp"`); else split from key_path."""

    @classmethod
    def at(cls, parts: tuple[str, ...], value: Any, merge_strategy: MergeStrategy = "replace") -> Edit:
        return cls(".".join(parts), value, merge_strategy, parts)

    def keys(self) -> list[str]:
        return list(self.parts) if self.parts is not None else split_key_path(self.key_path)


def split_key_path(key_path: str) -> list[str]:
    if not key_path:
        raise InvalidRequest("keyPath must not be empty")
    parts = key_path.split(".")
    if any(not part for part in parts):
        raise InvalidRequest("keyPath segments must not be empty")
    return parts


def toml_value(value: Any) -> Any:
    """JSON -> TOML: nulls inside tables are dropped (TOML has no null); tables become real tables."""
    if isinstance(value, dict):
        table = tomlkit.table()
        for key, item in value.items():
            if item is not None:
                table[key] = toml_value(item)
        return table
    if isinstance(value, list):
        return [toml_value(item) for item in value if item is not None]
    return value


def apply(document: TOMLDocument, edit: Edit) -> None:
    parts = edit.keys()
    container: Any = document
    trail: list[tuple[Any, str]] = []
    for depth, part in enumerate(parts[:-1]):
        child = container.get(part)
        if not isinstance(child, dict):
            if edit.value is None:
                return
            # A table that only holds tables prints as `[a."b"]` rather than an empty `[a]` header.
            holds_tables = depth < len(parts) - 2 or isinstance(edit.value, dict)
            container[part] = tomlkit.table(is_super_table=holds_tables)
            child = container[part]
        trail.append((container, part))
        container = child
    leaf = parts[-1]
    if edit.value is None:
        if leaf in container:
            del container[leaf]
        prune(trail)
        return
    existing = container.get(leaf)
    if edit.merge_strategy == "upsert" and isinstance(existing, dict) and isinstance(edit.value, dict):
        upsert(existing, edit.value)
    else:
        container[leaf] = toml_value(edit.value)


def prune(trail: list[tuple[Any, str]]) -> None:
    """Drop header-only tables a removal emptied (`[plugins]` after its last `[plugins."x"]` went)."""
    for parent, key in reversed(trail):
        child = parent.get(key)
        if not isinstance(child, Table) or len(child) or not child.is_super_table():
            return
        del parent[key]


def upsert(table: Table | dict[str, Any], value: dict[str, Any]) -> None:
    for key, item in value.items():
        current = table.get(key)
        if item is None:
            if key in table:
                del table[key]
        elif isinstance(current, dict) and isinstance(item, dict):
            upsert(current, item)
        else:
            table[key] = toml_value(item)


def replace_config(path: Path, text: str) -> None:
    """Swap in the new config.toml; it keeps its mode, and a new one is private (0600) like upstream's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    atomic_write(path, text, mode=mode)


@dataclass(frozen=True)
class WriteOutcome:
    path: Path
    version: str
    overridden: dict[str, Any] | None
    """`overriddenMetadata` when a higher layer still decides the effective value of an edited key."""


def check_target(server: ServerContext, file_path: str | None) -> Path:
    path = user_config_path(server)
    if file_path is not None and Path(file_path).absolute().resolve() != path.absolute().resolve():
        raise InvalidRequest("Only writes to the user config are allowed")
    return path


def overridden(config: Config, edits: list[Edit]) -> dict[str, Any] | None:
    for edit in edits:
        layer = config.origin_of(tuple(edit.keys()))
        if layer is not None and layer.source["type"] == "sessionFlags":
            return {
                "message": "Overridden by session flags",
                "overridingLayer": layer.metadata,
                "effectiveValue": config.get(edit.key_path),
            }
    return None


def write(
    server: ServerContext, edits: list[Edit], *, file_path: str | None, expected_version: str | None
) -> WriteOutcome:
    """Apply `edits` to the user config in one atomic write."""
    path = check_target(server, file_path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    before = Layer({"type": "user"}, parse_toml(path, text))
    if expected_version is not None and expected_version != before.version:
        raise InvalidRequest("Configuration was modified since last read. Fetch latest version and retry.")
    document = tomlkit.parse(text)
    for edit in edits:
        apply(document, edit)
    new_text = tomlkit.dumps(document)
    values = parse_toml(path, new_text)
    for problem in type_problems(values):
        raise InvalidRequest(f"Invalid configuration: {problem.message}\nin `{problem.reported}`\n")
    replace_config(path, new_text)
    server.shared(ConfigCache, ConfigCache).invalidate()
    config = effective_config(server)
    return WriteOutcome(path.resolve(), Layer({"type": "user"}, values).version, overridden(config, edits))
