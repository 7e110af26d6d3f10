"""Skills on disk (`<dir>/<name>/SKILL.md` with YAML front matter) and their `[[skills.config]]` toggles.

Where upstream 0.163 looks, in the order it lists them: the repo (`.codex/skills` and `.agents/skills` at
the cwd's project root), then the user (`$HOME/.agents/skills`, `$CODEX_HOME/skills`), each sorted by
name. A skill whose file has no front matter is reported as an error for its cwd and not listed. A
`[[skills.config]]` entry with `enabled = false`, selected by `name` or by `path`, turns a skill off;
enabling one removes its entry rather than writing `enabled = true`, as upstream does. Upstream also
unpacks skills bundled in its binary into `$CODEX_HOME/skills/.system` (scope `system`); ours ships none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.plugins.manifest import front_matter
from server.plugins.marketplace import project_root

NO_FRONT_MATTER = "missing YAML frontmatter delimited by ---"
SYSTEM_DIR = ".system"


@dataclass
class Listing:
    skills: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def roots(cwd: Path, home: str | None, codex_home: Path) -> list[tuple[str, Path]]:
    root = project_root(cwd)
    found = [("repo", root / ".codex" / "skills"), ("repo", root / ".agents" / "skills")]
    if home:
        found.append(("user", Path(home) / ".agents" / "skills"))
    found.append(("user", codex_home / "skills"))
    return found


def disabled(entries: Iterable[Any]) -> tuple[set[str], set[str]]:
    """Names and paths turned off by `[[skills.config]]` entries."""
    names, paths = set(), set()
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("enabled") is not False:
            continue
        if isinstance(entry.get("name"), str):
            names.add(entry["name"])
        if isinstance(entry.get("path"), str):
            paths.add(entry["path"])
    return names, paths


def skill_entry(path: Path, scope: str, off: tuple[set[str], set[str]]) -> dict[str, Any] | None:
    if not path.read_text(encoding="utf-8", errors="replace").startswith("---"):
        return None
    front = front_matter(path)
    name = front.get("name") if isinstance(front.get("name"), str) else path.parent.name
    description = front.get("description")
    entry: dict[str, Any] = {
        "name": name,
        "description": description if isinstance(description, str) else "",
    }
    metadata = front.get("metadata")
    short = metadata.get("short-description") if isinstance(metadata, dict) else None
    if isinstance(short, str):
        entry["shortDescription"] = short
    entry.update(
        {
            "path": str(path),
            "scope": scope,
            "enabled": name not in off[0] and str(path) not in off[1],
            "pluginId": None,
        }
    )
    return entry


def list_skills(cwd: Path, home: str | None, codex_home: Path, config_entries: Iterable[Any]) -> Listing:
    listing = Listing()
    off = disabled(config_entries)
    for scope, directory in roots(cwd, home, codex_home):
        found = []
        for path in sorted(directory.glob("*/SKILL.md")):
            if path.parent.name == SYSTEM_DIR:
                continue
            try:
                entry = skill_entry(path, scope, off)
            except OSError as exc:
                listing.errors.append({"path": str(path), "message": str(exc)})
                continue
            if entry is None:
                listing.errors.append({"path": str(path), "message": NO_FRONT_MATTER})
            else:
                found.append(entry)
        listing.skills += found
    rank = {"repo": 0, "user": 1}
    listing.skills.sort(key=lambda skill: (rank[skill["scope"]], skill["name"]))
    return listing


def toggled(entries: Iterable[Any], selector: dict[str, str], enabled: bool) -> list[Any]:
    """The `[[skills.config]]` list after turning the selected skill on or off."""
    key, value = next(iter(selector.items()))
    kept = [entry for entry in entries if not (isinstance(entry, dict) and entry.get(key) == value)]
    if not enabled:
        kept.append({key: value, "enabled": False})
    return kept
