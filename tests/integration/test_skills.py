"""skills/list and skills/config/write over skills on disk, on both servers.

Upstream also lists the skills bundled in its binary (scope `system`, unpacked into
`$CODEX_HOME/skills/.system`); ours ships none, so the comparison leaves that scope out.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory


def write_skill(directory: Path, name: str, description: str = "d", extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "SKILL.md"
    path.write_text(f"---\nname: {name}\ndescription: {description}\n{extra}---\nBody.\n")
    return path


def layout(tmp_path: Path, client_home: Path) -> tuple[Path, dict[str, Path]]:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    paths = {
        "repo-skill": write_skill(project / ".agents/skills/repo-skill", "repo-skill", "repo things"),
        "codex-dir-skill": write_skill(project / ".codex/skills/codex-dir-skill", "codex-dir-skill"),
        "user-skill": write_skill(
            client_home / "skills/user-skill", "user-skill", "user things", "metadata:\n  short-description: shorty\n"
        ),
        "home-skill": write_skill(client_home.parent / ".agents/skills/home-skill", "home-skill"),
    }
    broken = project / ".agents/skills/broken"
    broken.mkdir(parents=True)
    (broken / "SKILL.md").write_text("no front matter\n")
    return project, paths


def listed(client: Client, project: Path) -> dict[str, Any]:
    [entry] = client.request("skills/list", {"cwds": [str(project)], "forceReload": True})["data"]
    entry["skills"] = [skill for skill in entry["skills"] if skill["scope"] != "system"]
    return dict(entry)


def skill(name: str, path: Path, scope: str, *, enabled: bool = True, **extra: str) -> dict[str, Any]:
    return {"name": name, "description": "d", **extra, "path": str(path), "scope": scope, "enabled": enabled,
            "pluginId": None}  # fmt: skip


def start(factory: AppServerFactory) -> Client:
    return factory(config_toml='chatgpt_base_url = "http://127.0.0.1:9/backend-api"\n', experimental_api=True)


def test_list_reports_repo_then_user_skills_and_files_without_front_matter(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    client = start(app_server_factory)
    project, paths = layout(tmp_path, client.codex_home)
    assert listed(client, project) == {
        "cwd": str(project),
        "skills": [
            skill("codex-dir-skill", paths["codex-dir-skill"], "repo"),
            skill("repo-skill", paths["repo-skill"], "repo", description="repo things"),
            skill("home-skill", paths["home-skill"], "user"),
            skill("user-skill", paths["user-skill"], "user", description="user things", shortDescription="shorty"),
        ],
        "errors": [
            {
                "path": str(project / ".agents/skills/broken/SKILL.md"),
                "message": "missing YAML frontmatter delimited by ---",
            }
        ],
    }


def test_config_write_disables_by_name_or_path_and_enabling_removes_the_entry(
    app_server_factory: AppServerFactory, tmp_path: Path
) -> None:
    client = start(app_server_factory)
    project, paths = layout(tmp_path, client.codex_home)
    config = client.codex_home / "config.toml"
    assert client.request("skills/config/write", {"name": "repo-skill", "enabled": False}) == {
        "effectiveEnabled": False
    }
    user_path = str(paths["user-skill"])
    assert client.request("skills/config/write", {"path": user_path, "enabled": False}) == {"effectiveEnabled": False}
    assert tomllib.loads(config.read_text())["skills"] == {
        "config": [{"name": "repo-skill", "enabled": False}, {"path": user_path, "enabled": False}]
    }
    enabled = {skill["name"]: skill["enabled"] for skill in listed(client, project)["skills"]}
    assert enabled == {"codex-dir-skill": True, "repo-skill": False, "home-skill": True, "user-skill": False}

    assert client.request("skills/config/write", {"name": "nope", "enabled": True}) == {"effectiveEnabled": True}
    assert client.request("skills/config/write", {"name": "repo-skill", "enabled": True}) == {"effectiveEnabled": True}
    assert tomllib.loads(config.read_text())["skills"] == {"config": [{"path": user_path, "enabled": False}]}


@pytest.mark.parametrize("params", [{"enabled": False}, {"enabled": False, "name": "a", "path": "/a/SKILL.md"}])
def test_config_write_needs_exactly_one_selector(app_server_factory: AppServerFactory, params: dict[str, Any]) -> None:
    client = start(app_server_factory)
    before = (client.codex_home / "config.toml").read_text()
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("skills/config/write", params)
    assert (excinfo.value.code, excinfo.value.message) == (
        -32602,
        "skills/config/write requires exactly one of path or name",
    )
    assert (client.codex_home / "config.toml").read_text() == before
