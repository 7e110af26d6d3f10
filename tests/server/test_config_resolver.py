"""The config resolver: layer precedence, provenance, reload on change, positions, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from server.config import effective_config, load
from server.config.locate import Span, locate
from server.config.reviewer import approvals_reviewer
from server.config.writer import Edit, write
from server.protocol.errors import InvalidRequest
from server.session import ServerContext, ServerOptions


def server(
    home: Path, *, overrides: tuple[str, ...] = (), profile: str | None = None, toml: str | None = None
) -> ServerContext:
    if toml is not None:
        (home / "config.toml").write_text(toml)
    options = ServerOptions(config_overrides=overrides, profile=profile)
    return ServerContext(codex_home=home, options=options, environ={})


def test_precedence_is_flags_then_profile_then_user(tmp_path: Path) -> None:
    (tmp_path / "fast.config.toml").write_text('model = "profile"\nreview_model = "profile"\n')
    context = server(
        tmp_path,
        overrides=('model="flag"',),
        profile="fast",
        toml='model = "user"\nreview_model = "user"\nservice_tier = "user"\n',
    )
    config = load(context)
    assert (config.get("model"), config.get("review_model"), config.get("service_tier")) == ("flag", "profile", "user")
    origins = config.origins()
    assert origins["model"]["name"] == {"type": "sessionFlags"}
    assert origins["review_model"]["name"] == {
        "type": "user",
        "file": str(tmp_path / "fast.config.toml"),
        "profile": "fast",
    }
    assert origins["service_tier"]["name"]["profile"] is None
    assert [layer.source["type"] for layer in config.layers] == ["sessionFlags", "user", "user", "system"]


def test_tables_merge_across_layers_key_by_key(tmp_path: Path) -> None:
    context = server(tmp_path, overrides=("features.memories=true",), toml="[features]\nplugins = false\n")
    assert load(context).get("features") == {"plugins": False, "memories": True}


def test_get_answers_only_what_was_configured(tmp_path: Path) -> None:
    config = load(server(tmp_path, toml=""))
    assert config.get("model", "fallback") == "fallback"
    assert config.tree()["model"] is None
    assert config.tree()["history"] == {"persistence": "save-all", "max_bytes": None}


def test_effective_config_follows_the_file_on_disk(tmp_path: Path) -> None:
    context = server(tmp_path, toml='model = "a"\n')
    assert effective_config(context).get("model") == "a"
    path = tmp_path / "config.toml"
    path.write_text('model = "bb"\n')
    os.utime(path, ns=(1, 1))
    assert effective_config(context).get("model") == "bb"


def test_not_toml_is_a_problem_with_a_position(tmp_path: Path) -> None:
    problem = load(server(tmp_path, toml='model = "x"\nbroken = \n')).problem
    assert problem is not None
    assert (problem.path, problem.line) == (tmp_path / "config.toml", 2)
    assert problem.read_message.startswith("failed to read configuration layers: ")


def test_override_with_a_wrong_type_is_a_problem_without_a_file(tmp_path: Path) -> None:
    problem = load(server(tmp_path, overrides=("model_context_window=big",))).problem
    assert problem is not None
    assert problem.details == 'invalid type: string "big", expected i64'
    assert problem.path is None


@pytest.mark.parametrize(
    ("text", "key", "span"),
    [
        ('a = "x"\n', ("a",), Span(1, 5, 7)),
        ("[t]\n# c\n  b   =   12 # trailing\n", ("t", "b"), Span(3, 11, 12)),
        ('[plugins."alpha@mp"]\nenabled = "no"\n', ("plugins", "alpha@mp", "enabled"), Span(2, 11, 14)),
        ("x.y = true\n", ("x", "y"), Span(1, 7, 10)),
    ],
)
def test_locate_finds_the_value(text: str, key: tuple[str, ...], span: Span) -> None:
    assert locate(text, key) == span


def test_rejected_write_leaves_the_file_byte_for_byte(tmp_path: Path) -> None:
    original = '# keep\nmodel = "gpt-5"   # spaced\n'
    context = server(tmp_path, toml=original)
    with pytest.raises(InvalidRequest):
        write(
            context,
            [Edit("model", "ok", "replace"), Edit("history.max_bytes", -1, "replace")],
            file_path=None,
            expected_version=None,
        )
    assert (tmp_path / "config.toml").read_text() == original
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_write_creates_the_file_private_and_keeps_an_existing_mode(tmp_path: Path) -> None:
    context = server(tmp_path)
    write(context, [Edit("model", "o3", "replace")], file_path=None, expected_version=None)
    path = tmp_path / "config.toml"
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    write(context, [Edit("model", "o4", "replace")], file_path=None, expected_version=None)
    assert path.stat().st_mode & 0o777 == 0o644
    assert effective_config(context).get("model") == "o4"


@pytest.mark.parametrize(
    ("toml", "flags", "thread", "turn", "expected"),
    [
        ("", (), None, None, "user"),
        ('approvals_reviewer = "guardian_subagent"\n', (), None, None, "auto_review"),
        ('approvals_reviewer = "auto_review"\n', (), None, None, "auto_review"),
        ("[features]\nguardian_approval = true\n", (), None, None, "auto_review"),
        ('approvals_reviewer = "user"\n[features]\nguardian_approval = true\n', (), None, None, "user"),
        ("[features]\nguardian_approval = false\n", (), None, None, "user"),
        ("[features]\nsmart_approvals = true\n", (), None, None, "user"),
        ("[features]\nguardian_approval = true\n", ('approvals_reviewer="user"',), None, None, "user"),
        ('approvals_reviewer = "user"\n', ("features.guardian_approval=true",), None, None, "auto_review"),
        ("", (), "guardian_subagent", None, "auto_review"),
        ('approvals_reviewer = "auto_review"\n', (), "user", None, "user"),
        ("", (), "user", "auto_review", "auto_review"),
    ],
)
def test_reviewer_resolution(
    tmp_path: Path, toml: str, flags: tuple[str, ...], thread: str | None, turn: str | None, expected: str
) -> None:
    config = load(server(tmp_path, toml=toml, overrides=flags))
    assert approvals_reviewer(config, thread=thread, turn=turn) == expected


def test_unknown_reviewer_override_is_the_clients_error(tmp_path: Path) -> None:
    config: Any = load(server(tmp_path))
    with pytest.raises(InvalidRequest, match="unknown variant `robot`"):
        approvals_reviewer(config, thread="robot")
