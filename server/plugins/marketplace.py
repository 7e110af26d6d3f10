"""Finding and reading marketplace files.

A malformed marketplace must not take the others down: discovery returns the good ones and a load error
per bad file (`marketplaceLoadErrors`), worded as upstream words it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.protocol.errors import InvalidRequest

MARKETPLACE_FILE = Path(".agents/plugins/marketplace.json")
ROOT_MARKERS = (".git",)


@dataclass(frozen=True)
class Entry:
    """One plugin as a marketplace lists it."""

    name: str
    path: Path
    """Absolute plugin directory."""
    install_policy: str = "AVAILABLE"
    auth_policy: str = "ON_INSTALL"
    category: str | None = None
    products: tuple[str, ...] = ()
    """Products the plugin is offered to; empty means all."""


@dataclass(frozen=True)
class Marketplace:
    name: str
    path: Path
    display_name: str | None
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def entry(self, plugin_name: str) -> Entry:
        for entry in self.entries:
            if entry.name == plugin_name:
                return entry
        raise InvalidRequest(f"plugin `{plugin_name}` was not found in marketplace `{self.name}`")


class MarketplaceError(InvalidRequest):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"invalid marketplace file `{path}`: {reason}")
        self.path = path


def unfinished(text: str) -> str:
    """What serde_json says it was parsing when a document ends early: the innermost open construct."""
    stack: list[str] = []
    in_string = escaped = False
    last = ""
    for char in text:
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
        if not char.isspace():
            last = char
    if in_string:
        return "a string"
    if last == ":" or not stack:
        return "a value"
    return "a list" if stack[-1] == "[" else "an object"


def json_reason(error: json.JSONDecodeError) -> str:
    """serde_json's wording for the common case (file cut short), Python's otherwise."""
    doc = error.doc
    if error.pos >= len(doc.rstrip()) or error.msg.startswith("Unterminated string"):
        line, column = doc.count("\n") + 1, len(doc) - doc.rfind("\n") - 1
        return f"EOF while parsing {unfinished(doc)} at line {line} column {column}"
    return f"{error.msg} at line {error.lineno} column {error.colno}"


def text_field(table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    return value if isinstance(value, str) else None


def table_field(table: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = table.get(key)
    return value if isinstance(value, dict) else {}


def list_field(table: Mapping[str, Any], key: str) -> list[Any]:
    value = table.get(key)
    return value if isinstance(value, list) else []


def parse_entry(raw: Any, root: Path, path: Path) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise MarketplaceError(path, "every plugin needs a string `name`")
    source = raw.get("source")
    relative = source if isinstance(source, str) else source.get("path") if isinstance(source, dict) else None
    if not isinstance(relative, str):
        raise MarketplaceError(path, f"plugin `{raw['name']}` has no local `source.path`")
    policy = table_field(raw, "policy")
    products = list_field(policy, "products")
    return Entry(
        name=raw["name"],
        path=Path(os.path.normpath(root / relative)),
        install_policy=text_field(policy, "installation") or "AVAILABLE",
        auth_policy=text_field(policy, "authentication") or "ON_INSTALL",
        category=text_field(raw, "category"),
        products=tuple(product for product in products if isinstance(product, str)),
    )


def load_marketplace(path: Path) -> Marketplace:
    """Read one marketplace file. Raises MarketplaceError for anything unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MarketplaceError(path, f"{exc.strerror} (os error {exc.errno})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MarketplaceError(path, json_reason(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise MarketplaceError(path, "missing field `name`")
    plugins = data.get("plugins", [])
    if not isinstance(plugins, list):
        raise MarketplaceError(path, "`plugins` must be an array")
    interface = table_field(data, "interface")
    root = path.parent.parent.parent
    return Marketplace(
        name=data["name"],
        path=path,
        display_name=text_field(interface, "displayName"),
        entries=tuple(parse_entry(raw, root, path) for raw in plugins),
    )


def project_root(cwd: Path) -> Path:
    """The nearest directory at or above `cwd` holding a root marker (`.git`), else `cwd` itself."""
    for candidate in (cwd, *cwd.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return cwd


def candidate_files(home: str | None, cwds: Iterable[str], configured: Iterable[Path] = ()) -> list[Path]:
    """Home marketplace first, then configured ones (`marketplace/add`), then each cwd's repo root, no repeats."""
    paths: list[Path] = []
    if home:
        paths.append(Path(home) / MARKETPLACE_FILE)
    paths += list(configured)
    paths += [project_root(Path(cwd)) / MARKETPLACE_FILE for cwd in cwds]
    unique: list[Path] = []
    for path in paths:
        if path not in unique:
            unique.append(path)
    return unique


@dataclass
class Discovery:
    marketplaces: list[Marketplace] = field(default_factory=list)
    errors: list[MarketplaceError] = field(default_factory=list)


def discover(home: str | None, cwds: Iterable[str], configured: Iterable[Path] = ()) -> Discovery:
    """Every marketplace visible from `$HOME`, the config and `cwds`; the first of two with one name wins."""
    found = Discovery()
    for path in candidate_files(home, cwds, configured):
        if not path.is_file():
            continue
        try:
            marketplace = load_marketplace(path)
        except MarketplaceError as exc:
            found.errors.append(exc)
            continue
        if all(existing.name != marketplace.name for existing in found.marketplaces):
            found.marketplaces.append(marketplace)
    return found
