"""Moving another coding agent's setup into Codex: `externalAgentConfig/detect` and `.../import`.

The source agent is Claude Code, whose files upstream 0.163 reads (measured with such files in a temporary
HOME): per scope, home (`~/.claude`, `~/.claude.json`) or a repository (`<cwd>/.claude`, `<cwd>/.mcp.json`,
`<cwd>/CLAUDE.md`). What moves, and where:

- `CONFIG`: the `env` of `.claude/settings.json` into `$CODEX_HOME/config.toml` (home) or
  `<cwd>/.codex/config.toml` (repository), as `[shell_environment_policy] inherit = "core"` and `.set`;
- `MCP_SERVER_CONFIG`: the `mcpServers` of `~/.claude.json` / `<cwd>/.mcp.json` into the same config.toml,
  as `[mcp_servers.<name>]`;
- `SKILLS`: every `.claude/skills/<name>/` directory, copied to `<parent of $CODEX_HOME>/.agents/skills/`
  (home, i.e. `~/.agents/skills`) or `<cwd>/.agents/skills/`;
- `AGENTS_MD`: `~/.claude/CLAUDE.md` / `<cwd>/CLAUDE.md` to `$CODEX_HOME/AGENTS.md` / `<cwd>/AGENTS.md`,
  with "Claude" (any case) read as "Codex".

Something already in place (an AGENTS.md, a server of that name, a skill directory, every variable) is not
offered again. Upstream also moves hooks, commands, subagents, sessions and plugins; this server detects and
imports only the four kinds above.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from codex_app_tools.atomic import atomic_write
from server.config.writer import Edit, apply

ITEM_ORDER = ("CONFIG", "SKILLS", "AGENTS_MD", "MCP_SERVER_CONFIG", "SUBAGENTS", "HOOKS", "COMMANDS")
"""The order of upstream's `importCompleted` results, whatever order the items came in."""
DETAIL_KEYS = ("plugins", "skills", "sessions", "mcpServers", "hooks", "subagents", "commands")
MAX_FILE_BYTES = 4 * 1024 * 1024
"""A settings or instructions file larger than this is not another agent's config; it is skipped."""
CLAUDE = re.compile("claude", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    """Home (`cwd is None`) or one repository: where the source files are and where they go."""

    source_root: Path
    """`~` or the repository."""
    codex_config: Path
    agents_md: Path
    skills_dir: Path
    cwd: str | None

    @classmethod
    def home(cls, home: Path, codex_home: Path) -> Scope:
        return cls(
            home, codex_home / "config.toml", codex_home / "AGENTS.md", codex_home.parent / ".agents/skills", None
        )

    @classmethod
    def repository(cls, cwd: Path) -> Scope:
        return cls(cwd, cwd / ".codex/config.toml", cwd / "AGENTS.md", cwd / ".agents/skills", str(cwd))

    @property
    def claude_dir(self) -> Path:
        return self.source_root / ".claude"

    @property
    def settings(self) -> Path:
        return self.claude_dir / "settings.json"

    @property
    def claude_md(self) -> Path:
        return self.claude_dir / "CLAUDE.md" if self.cwd is None else self.source_root / "CLAUDE.md"

    @property
    def mcp_file(self) -> Path:
        return self.source_root / ".claude.json" if self.cwd is None else self.source_root / ".mcp.json"


def _json_object(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return {}
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _toml_object(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _details(**named: list[str]) -> dict[str, Any]:
    details: dict[str, Any] = {key: [] for key in DETAIL_KEYS}
    for key, names in named.items():
        details[key] = [{"name": name} for name in names]
    return details


def _item(item_type: str, description: str, scope: Scope, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"itemType": item_type, "description": description, "cwd": scope.cwd, "details": details}


# -- what each kind finds -------------------------------------------------------------------------------------


def _pending_env(scope: Scope) -> dict[str, str]:
    env = _json_object(scope.settings).get("env")
    if not isinstance(env, dict):
        return {}
    policy = _toml_object(scope.codex_config).get("shell_environment_policy")
    already = policy.get("set") if isinstance(policy, dict) else None
    present = already if isinstance(already, dict) else {}
    return {str(key): str(value) for key, value in env.items() if present.get(str(key)) != str(value)}


def _pending_mcp_servers(scope: Scope) -> dict[str, dict[str, Any]]:
    servers = _json_object(scope.mcp_file).get("mcpServers")
    if not isinstance(servers, dict):
        return {}
    configured = _toml_object(scope.codex_config).get("mcp_servers")
    existing = configured if isinstance(configured, dict) else {}
    pending = {}
    for name, server in servers.items():
        table = mcp_table(server)
        if table is not None and name not in existing:
            pending[str(name)] = table
    return pending


def mcp_table(server: Any) -> dict[str, Any] | None:
    """A Claude `mcpServers` entry as a Codex `[mcp_servers.<name>]` table; None when it is neither kind."""
    if not isinstance(server, dict):
        return None
    if isinstance(server.get("command"), str):
        table: dict[str, Any] = {"command": server["command"]}
        args = server.get("args")
        if isinstance(args, list) and args:
            table["args"] = [str(arg) for arg in args]
        env = server.get("env")
        if isinstance(env, dict) and env:
            table["env"] = {str(key): str(value) for key, value in env.items()}
        return table
    if isinstance(server.get("url"), str):
        table = {"url": server["url"]}
        headers = server.get("headers")
        if isinstance(headers, dict) and headers:
            table["http_headers"] = {str(key): str(value) for key, value in headers.items()}
        return table
    return None


def _pending_skills(scope: Scope) -> list[str]:
    source = scope.claude_dir / "skills"
    try:
        entries = sorted(source.iterdir())
    except OSError:
        return []
    return [entry.name for entry in entries if entry.is_dir() and not (scope.skills_dir / entry.name).exists()]


def detect(scope: Scope) -> list[dict[str, Any]]:
    """The migration items of one scope, in upstream's order."""
    items = []
    if _pending_env(scope):
        items.append(_item("CONFIG", f"Migrate {scope.settings} into {scope.codex_config}", scope))
    servers = _pending_mcp_servers(scope)
    if servers:
        description = f"Migrate MCP servers from {scope.source_root} into {scope.codex_config}"
        items.append(_item("MCP_SERVER_CONFIG", description, scope, _details(mcpServers=list(servers))))
    skills = _pending_skills(scope)
    if skills:
        description = f"Migrate skills from {scope.claude_dir / 'skills'} to {scope.skills_dir}"
        items.append(_item("SKILLS", description, scope, _details(skills=skills)))
    if scope.claude_md.is_file() and not scope.agents_md.exists():
        items.append(_item("AGENTS_MD", f"Migrate {scope.claude_md} to {scope.agents_md}", scope))
    return items


# -- importing ------------------------------------------------------------------------------------------------


def _edit_config(path: Path, edits: list[Edit]) -> None:
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = tomlkit.document()
    for edit in edits:
        apply(document, edit)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, tomlkit.dumps(document))


def _success(item_type: str, scope: Scope, source: str, target: str) -> dict[str, Any]:
    return {"itemType": item_type, "cwd": scope.cwd, "source": source, "target": target, "title": None}


def _failure(item_type: str, scope: Scope, stage: str, message: str) -> dict[str, Any]:
    return {
        "itemType": item_type,
        "cwd": scope.cwd,
        "source": None,
        "failureStage": stage,
        "message": message,
        "errorType": None,
        "subErrorType": None,
    }


def _import_config(scope: Scope, details: dict[str, Any]) -> list[dict[str, Any]]:
    env = _pending_env(scope)
    if env:
        _edit_config(
            scope.codex_config,
            [
                Edit.at(("shell_environment_policy", "inherit"), "core"),
                Edit.at(("shell_environment_policy", "set"), env, "upsert"),
            ],
        )
    return [_success("CONFIG", scope, str(scope.settings), str(scope.codex_config))]


def _import_mcp_servers(scope: Scope, details: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = [entry.get("name") for entry in details.get("mcpServers") or [] if isinstance(entry, dict)]
    pending = _pending_mcp_servers(scope)
    names = [name for name in wanted if name in pending] if wanted else list(pending)
    if names:
        _edit_config(scope.codex_config, [Edit.at(("mcp_servers", name), pending[name]) for name in names])
    return [_success("MCP_SERVER_CONFIG", scope, name, name) for name in names]


def _import_skills(scope: Scope, details: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = [entry.get("name") for entry in details.get("skills") or [] if isinstance(entry, dict)]
    pending = _pending_skills(scope)
    results = []
    for name in [name for name in wanted if name in pending] if wanted else pending:
        scope.skills_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(scope.claude_dir / "skills" / name, scope.skills_dir / name, symlinks=True)
        results.append(_success("SKILLS", scope, name, name))
    return results


def _import_agents_md(scope: Scope, details: dict[str, Any]) -> list[dict[str, Any]]:
    if scope.agents_md.exists():
        return []
    if scope.claude_md.stat().st_size > MAX_FILE_BYTES:
        raise OSError(f"{scope.claude_md} is larger than {MAX_FILE_BYTES} bytes")
    text = scope.claude_md.read_text(encoding="utf-8")
    scope.agents_md.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(scope.agents_md, CLAUDE.sub("Codex", text))
    return [_success("AGENTS_MD", scope, str(scope.claude_md), str(scope.agents_md))]


IMPORTERS: dict[str, Callable[[Scope, dict[str, Any]], list[dict[str, Any]]]] = {
    "CONFIG": _import_config,
    "MCP_SERVER_CONFIG": _import_mcp_servers,
    "SKILLS": _import_skills,
    "AGENTS_MD": _import_agents_md,
}


def import_item(item: dict[str, Any], home: Path, codex_home: Path) -> dict[str, Any]:
    """Import one migration item; its `ExternalAgentConfigImportTypeResult` (a failure never raises)."""
    item_type = str(item.get("itemType"))
    cwd = item.get("cwd")
    scope = Scope.repository(Path(cwd)) if isinstance(cwd, str) and cwd else Scope.home(home, codex_home)
    importer = IMPORTERS.get(item_type)
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    if importer is None:
        failures = [_failure(item_type, scope, "import", f"importing {item_type} is not supported by this server")]
        return {"itemType": item_type, "successes": [], "failures": failures}
    try:
        successes = importer(scope, details or {})
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {"itemType": item_type, "successes": [], "failures": [_failure(item_type, scope, "import", str(exc))]}
    return {"itemType": item_type, "successes": successes, "failures": []}


def grouped(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-item results merged by type, in upstream's order of types."""
    merged: dict[str, dict[str, Any]] = {}
    for result in results:
        entry = merged.setdefault(result["itemType"], {"itemType": result["itemType"], "successes": [], "failures": []})
        entry["successes"] += result["successes"]
        entry["failures"] += result["failures"]
    rank = {name: position for position, name in enumerate(ITEM_ORDER)}
    return sorted(merged.values(), key=lambda entry: rank.get(entry["itemType"], len(rank)))


def new_import_id() -> str:
    return str(uuid.uuid4())
