"""externalAgentConfig/detect and /import: a Claude Code setup moved into Codex, as upstream 0.163 moves it.

Each test builds a home (`~/.claude`, `~/.claude.json`, with `$CODEX_HOME` at `~/codex`) and a repository
with Claude's files, then checks what both servers offer and write. Upstream also offers hooks, commands,
subagents and sessions; the fixtures here hold none, as this server does not move those.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.sync import Client
from tests.integration.raw_stream import Write, index_of_response, methods, server_writes

SKILL = "---\nname: {name}\ndescription: d\n---\nbody\n"
NO_DETAILS = {key: [] for key in ("plugins", "skills", "sessions", "mcpServers", "hooks", "subagents", "commands")}


def claude_setup(root: Path) -> tuple[Path, Path]:
    """A home with Claude Code's files and one repository; returns (home, repository)."""
    home, repo = root / "home", root / "home" / "proj"
    (home / ".claude/skills/foo").mkdir(parents=True)
    (home / ".claude/skills/foo/SKILL.md").write_text(SKILL.format(name="foo"))
    (home / ".claude/skills/draft").mkdir()  # no SKILL.md yet: upstream moves it all the same
    (home / ".claude/CLAUDE.md").write_text("# Notes for Claude\nclaude reads this.\n")
    (home / ".claude/settings.json").write_text(json.dumps({"env": {"A": "1"}, "model": "claude-opus"}))
    servers = {"m2": {"command": "y"}, "web": {"type": "http", "url": "https://example.invalid/mcp"}}
    (home / ".claude.json").write_text(json.dumps({"mcpServers": servers}))
    (repo / ".claude/skills/bar").mkdir(parents=True)
    (repo / ".claude/skills/bar/SKILL.md").write_text(SKILL.format(name="bar"))
    (repo / "CLAUDE.md").write_text("# proj CLAUDE\n")
    (repo / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"m1": {"command": "x", "args": ["-y"], "env": {"K": "V"}}}})
    )
    (repo / ".claude/settings.json").write_text(json.dumps({"env": {"B": "2"}}))
    (home / "codex").mkdir()
    return home, repo


def details(**named: list[str]) -> dict[str, Any]:
    return {**NO_DETAILS, **{key: [{"name": name} for name in names] for key, names in named.items()}}


def expected_items(home: Path, repo: Path) -> list[dict[str, Any]]:
    codex = home / "codex"
    return [
        {"itemType": "CONFIG", "description": f"Migrate {home}/.claude/settings.json into {codex}/config.toml",
         "cwd": None, "details": None},
        {"itemType": "MCP_SERVER_CONFIG", "description": f"Migrate MCP servers from {home} into {codex}/config.toml",
         "cwd": None, "details": details(mcpServers=["m2", "web"])},
        {"itemType": "SKILLS", "description": f"Migrate skills from {home}/.claude/skills to {home}/.agents/skills",
         "cwd": None, "details": details(skills=["draft", "foo"])},
        {"itemType": "AGENTS_MD", "description": f"Migrate {home}/.claude/CLAUDE.md to {codex}/AGENTS.md",
         "cwd": None, "details": None},
        {"itemType": "CONFIG", "description": f"Migrate {repo}/.claude/settings.json into {repo}/.codex/config.toml",
         "cwd": str(repo), "details": None},
        {"itemType": "MCP_SERVER_CONFIG",
         "description": f"Migrate MCP servers from {repo} into {repo}/.codex/config.toml",
         "cwd": str(repo), "details": details(mcpServers=["m1"])},
        {"itemType": "SKILLS", "description": f"Migrate skills from {repo}/.claude/skills to {repo}/.agents/skills",
         "cwd": str(repo), "details": details(skills=["bar"])},
        {"itemType": "AGENTS_MD", "description": f"Migrate {repo}/CLAUDE.md to {repo}/AGENTS.md",
         "cwd": str(repo), "details": None},
    ]  # fmt: skip


def started(factory: AppServerFactory, home: Path) -> Client:
    return factory(codex_home=home / "codex")


def detect(client: Client, params: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.request("externalAgentConfig/detect", params)
    return result


def test_detect_offers_home_and_repository_items(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    home, repo = claude_setup(tmp_path)
    client = started(app_server_factory, home)
    result = detect(client, {"includeHome": True, "cwds": [str(repo)]})
    assert result == {"items": expected_items(home, repo), "connectors": []}


def test_detect_without_home_looks_only_at_the_repositories(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    home, repo = claude_setup(tmp_path)
    client = started(app_server_factory, home)
    assert detect(client, {"cwds": [str(repo)]})["items"] == expected_items(home, repo)[4:]
    assert detect(client, {"cwds": ["relative/dir", str(tmp_path / "missing")]}) == {"items": [], "connectors": []}
    assert detect(client, {}) == {"items": [], "connectors": []}


def test_a_repository_with_an_agents_md_keeps_it(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    home, repo = claude_setup(tmp_path)
    (repo / "AGENTS.md").write_text("# mine\n")
    items = detect(started(app_server_factory, home), {"cwds": [str(repo)]})["items"]
    assert "AGENTS_MD" not in [item["itemType"] for item in items]


def test_import_writes_codex_files_and_nothing_is_offered_again(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    home, repo = claude_setup(tmp_path)
    client = started(app_server_factory, home)
    items = detect(client, {"includeHome": True, "cwds": [str(repo)]})["items"]
    import_id = client.request("externalAgentConfig/import", {"migrationItems": items})["importId"]
    completed = client.wait_for("externalAgentConfig/import/completed", importId=import_id)
    progress = [client.wait_for("externalAgentConfig/import/progress", importId=import_id) for _ in items]
    assert [entry["itemTypeResults"][0]["itemType"] for entry in progress] == [item["itemType"] for item in items]
    codex = home / "codex"
    results = completed["itemTypeResults"]
    assert [entry["itemType"] for entry in results] == ["CONFIG", "SKILLS", "AGENTS_MD", "MCP_SERVER_CONFIG"]
    assert all(entry["failures"] == [] for entry in results)
    assert results[3]["successes"] == [
        {"itemType": "MCP_SERVER_CONFIG", "cwd": None, "source": "m2", "target": "m2", "title": None},
        {"itemType": "MCP_SERVER_CONFIG", "cwd": None, "source": "web", "target": "web", "title": None},
        {"itemType": "MCP_SERVER_CONFIG", "cwd": str(repo), "source": "m1", "target": "m1", "title": None},
    ]
    assert results[2]["successes"][0] == {
        "itemType": "AGENTS_MD",
        "cwd": None,
        "source": str(home / ".claude/CLAUDE.md"),
        "target": str(codex / "AGENTS.md"),
        "title": None,
    }
    assert (codex / "config.toml").read_text() == (
        '[shell_environment_policy]\ninherit = "core"\n\n[shell_environment_policy.set]\nA = "1"\n\n'
        '[mcp_servers.m2]\ncommand = "y"\n\n[mcp_servers.web]\nurl = "https://example.invalid/mcp"\n'
    )
    assert (repo / ".codex/config.toml").read_text() == (
        '[shell_environment_policy]\ninherit = "core"\n\n[shell_environment_policy.set]\nB = "2"\n\n'
        '[mcp_servers.m1]\ncommand = "x"\nargs = ["-y"]\n\n[mcp_servers.m1.env]\nK = "V"\n'
    )
    assert (codex / "AGENTS.md").read_text() == "# Notes for Codex\nCodex reads this.\n"
    assert (repo / "AGENTS.md").read_text() == "# proj Codex\n"
    assert (home / ".agents/skills/foo/SKILL.md").read_text() == SKILL.format(name="foo")
    assert (home / ".agents/skills/draft").is_dir()
    assert (repo / ".agents/skills/bar/SKILL.md").read_text() == SKILL.format(name="bar")
    assert detect(client, {"includeHome": True, "cwds": [str(repo)]})["items"] == []


def test_the_import_response_is_written_alone_before_its_notifications(app_server_kind: str, tmp_path: Path) -> None:
    home, repo = claude_setup(tmp_path)
    items = expected_items(home, repo)
    request = {"id": 7, "method": "externalAgentConfig/import", "params": {"migrationItems": items}}
    writes = server_writes(app_server_kind, home / "codex", [request], until="externalAgentConfig/import/completed")
    answer = index_of_response(writes, 7)
    assert len(writes[answer]) == 1, "the response shares its write"

    def caused(part: list[Write]) -> list[str]:
        return [method for method in methods(part) if method.startswith("externalAgentConfig/")]

    assert caused(writes[:answer]) == []
    progress = ["externalAgentConfig/import/progress"] * len(items)
    assert caused(writes[answer + 1 :]) == [*progress, "externalAgentConfig/import/completed"]


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("externalAgentConfig/detect", None, "missing field `params`"),
        ("externalAgentConfig/detect", {"cwds": "x"}, 'invalid type: string "x", expected a sequence'),
        ("externalAgentConfig/detect", {"includeHome": "yes"}, 'invalid type: string "yes", expected a boolean'),
        ("externalAgentConfig/detect", {"maxSessions": -1}, "-1"),
        ("externalAgentConfig/import", {}, "missing field `migrationItems`"),
        ("externalAgentConfig/import", {"migrationItems": [{"itemType": "CONFIG"}]}, "missing field `description`"),
        (
            "externalAgentConfig/import",
            {"migrationItems": [{"itemType": "NOPE", "description": "d"}]},
            "unknown variant `NOPE`",
        ),
    ],
)
def test_params_of_the_wrong_shape_are_invalid_requests(
    app_server_factory: AppServerFactory, method: str, params: Any, fragment: str
) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request(method, params)
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith("Invalid request: ")
    assert fragment in excinfo.value.message
