"""The deprecated `[features] guardian_approval = true` alias for the automatic reviewer, per config scope.

Observed through what `thread/start` reports as `approvalsReviewer` (the reviewer the thread's turns use).
Measured on upstream 0.163: it no longer migrates the alias in any scope (user file, trusted project
`.codex/config.toml`), reports `user`, and sends no `configWarning` or deprecation notice about it. Ours
keeps the migration upstream once applied: a scope that sets the alias and no `approvals_reviewer` stands
for `guardian_subagent` (reported `auto_review`); an explicit reviewer in the same or a higher scope wins;
`smart_approvals = true` stays a rollout gate that sets nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_app_harness.pytest_plugin import AppServerFactory

ALIAS = "[features]\nguardian_approval = true\n"
EXPLICIT_USER = 'approvals_reviewer = "user"\n'

UPSTREAM_DROPPED_THE_MIGRATION = (
    "upstream 0.163 ignores `guardian_approval = true` for the reviewer, so a pre-rename config silently loses "
    "its automatic review and falls back to asking the user; ours keeps the config's meaning"
)


def reviewer_for(
    factory: AppServerFactory, tmp_path: Path, *, user: str = "", project: str | None = None, args: tuple[str, ...] = ()
) -> str:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    if project is not None:
        (root / ".codex").mkdir()
        (root / ".codex/config.toml").write_text(project)
    config = user + f'\n[projects."{root}"]\ntrust_level = "trusted"\n'
    client = factory(config_toml=config, args=list(args))
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-alias"})
    started = client.request("thread/start", {"cwd": str(root)})
    warnings = [note.params for note in client.drain("configWarning")]
    assert not [warning for warning in warnings if "guardian" in str(warning)], "no notice, as upstream"
    reviewer: str = started["approvalsReviewer"]
    return reviewer


@pytest.mark.parametrize(
    ("user", "project", "ours"),
    [
        (ALIAS, None, "auto_review"),
        (EXPLICIT_USER + ALIAS, None, "user"),
        ("", ALIAS, "auto_review"),
        ("", EXPLICIT_USER + ALIAS, "user"),
        (EXPLICIT_USER, ALIAS, "auto_review"),
        (ALIAS, EXPLICIT_USER, "user"),
        ("[features]\nguardian_approval = false\n", None, "user"),
    ],
    ids=[
        "user",
        "user-with-explicit-reviewer",
        "project",
        "project-with-explicit-reviewer",
        "project-over-explicit-user",
        "explicit-project-over-user-alias",
        "alias-off",
    ],
)
def test_alias_backfills_the_reviewer_in_its_scope(
    app_server_factory: AppServerFactory,
    app_server_kind: str,
    tmp_path: Path,
    user: str,
    project: str | None,
    ours: str,
) -> None:
    reviewer = reviewer_for(app_server_factory, tmp_path, user=user, project=project)
    if app_server_kind == "codex":
        assert reviewer == "user", UPSTREAM_DROPPED_THE_MIGRATION
    else:
        assert reviewer == ours, UPSTREAM_DROPPED_THE_MIGRATION


@pytest.mark.parametrize(
    ("user", "profile", "expected"),
    [
        ("", ALIAS, "auto_review"),
        ("", EXPLICIT_USER + ALIAS, "user"),
        (EXPLICIT_USER, ALIAS, "auto_review"),
        (ALIAS, EXPLICIT_USER, "user"),
    ],
    ids=["profile", "profile-with-explicit-reviewer", "profile-over-explicit-user", "explicit-profile-over-alias"],
)
def test_alias_in_a_profile_file(
    app_server_factory: AppServerFactory,
    app_server_kind: str,
    tmp_path: Path,
    user: str,
    profile: str,
    expected: str,
) -> None:
    if app_server_kind == "codex":
        pytest.skip("upstream 0.163's app-server takes no --profile (tests/integration/test_config.py pins that)")
    home = tmp_path / "home" / "codex"
    home.mkdir(parents=True)
    (home / "p.config.toml").write_text(profile)

    def factory(**kwargs: object) -> object:
        return app_server_factory(codex_home=home, **kwargs)

    assert reviewer_for(factory, tmp_path, user=user, args=("--profile", "p")) == expected  # type: ignore[arg-type]


def test_smart_approvals_stays_a_gate(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    assert reviewer_for(app_server_factory, tmp_path, user="[features]\nsmart_approvals = true\n") == "user"
