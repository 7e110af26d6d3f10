"""A plugin directory's manifest (`.codex-plugin/plugin.json`) and skills, read leniently.

A marketplace lists plugins by path; a broken or missing manifest must not hide the plugin or break the
list, so every field here is optional and read defensively.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.plugins.prompts import normalise_default_prompt

MANIFEST_DIRS = (".codex-plugin", ".claude-plugin", ".cursor-plugin")


@dataclass
class Manifest:
    directory: Path
    data: dict[str, Any] = field(default_factory=dict)

    def text(self, key: str, table: dict[str, Any] | None = None) -> str | None:
        value = (self.data if table is None else table).get(key)
        return value if isinstance(value, str) else None

    @property
    def version(self) -> str | None:
        return self.text("version")

    @property
    def description(self) -> str | None:
        return self.text("description")

    @property
    def keywords(self) -> list[str]:
        return [word for word in self.data.get("keywords") or [] if isinstance(word, str)]

    def resolve(self, value: Any) -> str | None:
        """An asset path from the manifest, absolute under the plugin directory."""
        if not isinstance(value, str) or not value:
            return None
        return str((self.directory / value).resolve())

    def interface(self, category: str | None) -> dict[str, Any]:
        """The wire PluginInterface; the marketplace entry's category wins over the manifest's."""
        raw = self.data.get("interface")
        table: dict[str, Any] = raw if isinstance(raw, dict) else {}

        def pick(*keys: str) -> str | None:
            return next((table[key] for key in keys if isinstance(table.get(key), str)), None)

        def strings(key: str) -> list[str]:
            return [item for item in table.get(key) or [] if isinstance(item, str)]

        return {
            "displayName": pick("displayName"),
            "shortDescription": pick("shortDescription"),
            "longDescription": pick("longDescription"),
            "developerName": pick("developerName"),
            "category": category if category is not None else pick("category"),
            "capabilities": strings("capabilities"),
            "websiteUrl": pick("websiteURL", "websiteUrl"),
            "privacyPolicyUrl": pick("privacyPolicyURL", "privacyPolicyUrl"),
            "termsOfServiceUrl": pick("termsOfServiceURL", "termsOfServiceUrl"),
            "defaultPrompt": normalise_default_prompt(table.get("defaultPrompt")),
            "brandColor": pick("brandColor"),
            "composerIcon": self.resolve(table.get("composerIcon")),
            "composerIconUrl": None,
            "logo": self.resolve(table.get("logo")),
            "logoDark": self.resolve(table.get("logoDark")),
            "logoUrl": None,
            "logoUrlDark": None,
            "screenshots": [path for path in map(self.resolve, table.get("screenshots") or []) if path],
            "screenshotUrls": [],
        }

    def skills(self, plugin_name: str, product: str) -> list[dict[str, Any]]:
        """`skills/<dir>/SKILL.md` entries, named `<plugin>:<skill>` as upstream lists them.

        A skill whose front matter names `products` is only offered to sessions of those products.
        """
        relative = self.text("skills") or "./skills/"
        root = self.directory / relative
        if not root.is_dir():
            return []
        found = []
        for skill_file in sorted(root.glob("*/SKILL.md")):
            front = front_matter(skill_file)
            products = front.get("products")
            if isinstance(products, list) and products and product not in products:
                continue
            name = front.get("name") if isinstance(front.get("name"), str) else skill_file.parent.name
            description = front.get("description")
            found.append(
                {
                    "name": f"{plugin_name}:{name}",
                    "description": description if isinstance(description, str) else "",
                    "shortDescription": None,
                    "interface": None,
                    "path": str(skill_file.resolve()),
                    "enabled": True,
                }
            )
        return found


def front_matter(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    if not text.startswith("---"):
        return {}
    import yaml  # only for plugins that ship skills

    block, sep, _ = text[3:].partition("\n---")
    if not sep:
        return {}
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def read_manifest(directory: Path) -> Manifest:
    for name in MANIFEST_DIRS:
        path = directory / name / "plugin.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return Manifest(directory, data)
    return Manifest(directory)
