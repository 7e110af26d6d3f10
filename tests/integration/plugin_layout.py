"""Builds marketplaces and plugins on disk the way upstream lays them out (protocol notes section 15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MARKETPLACE = Path(".agents/plugins/marketplace.json")

LONG = "x" * 200
DEFAULT_PROMPT_TABLE: list[tuple[Any, Any]] = [  # manifest value -> wire defaultPrompt, as upstream (section 15)
    ("Summarise my inbox", ["Summarise my inbox"]),
    (["p1", LONG, "p3", "p4", "p5"], ["p1", "p3", "p4"]),
    (LONG, None),
    ("y" * 129, None),
    ("z" * 128, ["z" * 128]),
    ([LONG, "w" * 300], None),
    ([1, "ok", None, "ok2"], ["ok", "ok2"]),
    ([], None),
    ("", None),
    ({"x": 1}, None),
    (["", "  ", "fine"], ["fine"]),
    (["a", "b"], ["a", "b"]),
]


def write_plugin(
    directory: Path, name: str, *, version: str | None = "1.0.0", default_prompt: Any = "Summarise my inbox"
) -> None:
    manifest: dict[str, Any] = {
        "name": name,
        "description": f"{name} plugin",
        "skills": "./skills/",
        "interface": {"displayName": name.title(), "shortDescription": "short", "defaultPrompt": default_prompt},
    }
    if version is not None:
        manifest["version"] = version
    (directory / ".codex-plugin").mkdir(parents=True, exist_ok=True)
    (directory / ".codex-plugin/plugin.json").write_text(json.dumps(manifest))
    skill = directory / f"skills/{name}-skill"
    skill.mkdir(parents=True, exist_ok=True)
    (skill / "SKILL.md").write_text(f"---\nname: {name}-skill\ndescription: does {name} things\n---\nBody.\n")


def write_marketplace(root: Path, name: str, plugins: dict[str, Any], *, repo: bool = True) -> Path:
    """A marketplace at `root` listing `plugins` (name -> defaultPrompt); returns the marketplace file."""
    if repo:
        (root / ".git").mkdir(parents=True, exist_ok=True)
    entries = []
    for plugin, prompt in plugins.items():
        write_plugin(root / "plugins" / plugin, plugin, default_prompt=prompt)
        entries.append(
            {
                "name": plugin,
                "source": {"source": "local", "path": f"./plugins/{plugin}"},
                "policy": {"installation": "AVAILABLE", "authentication": "ON_INSTALL"},
                "category": "Productivity",
            }
        )
    path = root / MARKETPLACE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "interface": {"displayName": f"{name} market"}, "plugins": entries}))
    return path


def write_broken_marketplace(root: Path) -> Path:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    path = root / MARKETPLACE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"name": "broken", "plugins": [')
    return path
