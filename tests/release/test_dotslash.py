"""DotSlash generation: the file the real dotslash accepts, digests it agrees with, and errors that name the
platform."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release import dotslash, targets
from release.__main__ import main
from release.errors import ReleaseError
from tests.release.dotslash_helpers import dotslash_tool, make_archive, make_artifacts

CONFIG = dotslash.DEFAULT_CONFIG


def write_config(path: Path, platforms: dict[str, dict[str, str]]) -> Path:
    path.write_text(json.dumps({"outputs": {"codex-zsh": {"platforms": platforms}}}))
    return path


def generate(tmp_path: Path, **kwargs: object) -> dict[str, object]:
    out = tmp_path / "codex-zsh"
    providers = dotslash.Providers(github_repo="acme/codex", tag="zsh-v5.9-1")
    text, _ = dotslash.generate(CONFIG, tmp_path / "dist", providers, **kwargs)  # type: ignore[arg-type]
    return dotslash.write_checked(out, text)


def test_committed_config_is_the_one_the_targets_table_implies() -> None:
    assert json.loads(CONFIG.read_text()) == dotslash.config_from_targets()


def test_config_covers_every_target_with_its_asset_name() -> None:
    (output,) = dotslash.load_config(CONFIG)
    assert {r.platform: r.name for r in output.platforms} == {
        t.dotslash_platform: t.asset_name for t in targets.TARGETS
    }


def test_generated_file_has_blake3_digests_that_dotslash_itself_computes(tmp_path: Path) -> None:
    make_artifacts(tmp_path / "dist")
    parsed = generate(tmp_path)
    platforms = parsed["platforms"]
    assert isinstance(platforms, dict)
    assert set(platforms) == {t.dotslash_platform for t in targets.TARGETS}
    for t in targets.TARGETS:
        entry = platforms[t.dotslash_platform]
        archive = tmp_path / "dist" / t.asset_name
        assert entry["hash"] == "blake3"
        assert entry["digest"] == dotslash_tool("b3sum", str(archive))
        assert entry["size"] == archive.stat().st_size
        assert entry["format"] == "tar.gz"
        assert entry["path"] == "codex-zsh/bin/zsh"


def test_sha256_on_request_matches_dotslash_sha256(tmp_path: Path) -> None:
    make_artifacts(tmp_path / "dist")
    parsed = generate(tmp_path, algorithm="sha256")
    entry = parsed["platforms"]["linux-x86_64"]  # type: ignore[index]
    assert entry["hash"] == "sha256"
    archive = tmp_path / "dist" / targets.get("x86_64-unknown-linux-musl").asset_name
    assert entry["digest"] == dotslash_tool("sha256", str(archive))


def test_each_platform_lists_github_release_then_url_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://ghe.example.test")
    make_artifacts(tmp_path / "dist")
    parsed = generate(tmp_path)
    name = targets.get("aarch64-apple-darwin").asset_name
    assert parsed["platforms"]["macos-aarch64"]["providers"] == [  # type: ignore[index]
        {"type": "github-release", "repo": "acme/codex", "tag": "zsh-v5.9-1", "name": name},
        {"url": f"https://ghe.example.test/acme/codex/releases/download/zsh-v5.9-1/{name}"},
    ]


def test_file_starts_with_the_dotslash_shebang(tmp_path: Path) -> None:
    make_artifacts(tmp_path / "dist")
    generate(tmp_path)
    assert (tmp_path / "codex-zsh").read_text().startswith("#!/usr/bin/env dotslash\n")


def test_same_artifacts_give_the_same_bytes(tmp_path: Path) -> None:
    make_artifacts(tmp_path / "dist")
    providers = dotslash.Providers(url_base="http://127.0.0.1:1/x")
    first, _ = dotslash.generate(CONFIG, tmp_path / "dist", providers)
    second, _ = dotslash.generate(CONFIG, tmp_path / "dist", providers)
    assert first == second


def test_missing_asset_is_an_error_naming_the_platform(tmp_path: Path) -> None:
    make_artifacts(tmp_path / "dist", ["x86_64-unknown-linux-musl", "aarch64-apple-darwin"])
    with pytest.raises(ReleaseError, match="platform linux-aarch64: no asset with name 'codex-zsh-aarch64-unknown"):
        generate(tmp_path)


def test_platform_whose_regex_matches_nothing_is_named(tmp_path: Path) -> None:
    make_artifacts(tmp_path / "dist", ["x86_64-unknown-linux-musl"])
    config = write_config(tmp_path / "c.json", {"linux-aarch64": {"regex": r"zsh-arm64-.*\.zip", "path": "zsh"}})
    output = dotslash.find_output(dotslash.load_config(config), None)
    with pytest.raises(ReleaseError, match=r"platform linux-aarch64: no asset with regex"):
        dotslash.collect_assets(output, tmp_path / "dist")


def test_two_assets_matching_one_platform_is_an_error_naming_both(tmp_path: Path) -> None:
    dist = make_artifacts(tmp_path / "dist", ["x86_64-unknown-linux-musl"])
    make_archive(dist / "codex-zsh-x86_64-unknown-linux-musl-debug.tar.gz")
    config = write_config(
        tmp_path / "c.json", {"linux-x86_64": {"regex": r"codex-zsh-x86_64-.*\.tar\.gz", "path": "codex-zsh/bin/zsh"}}
    )
    output = dotslash.find_output(dotslash.load_config(config), None)
    with pytest.raises(ReleaseError, match=r"platform linux-x86_64: 2 assets match .*-debug\.tar\.gz"):
        dotslash.collect_assets(output, dist)


def test_config_platform_outside_the_targets_table_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", {"windows-x86_64": {"name": "zsh.exe", "path": "zsh.exe"}})
    with pytest.raises(ReleaseError, match="windows-x86_64: not a platform in the targets table"):
        dotslash.load_config(config)


def test_config_rule_with_both_name_and_regex_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", {"linux-x86_64": {"name": "a", "regex": "a", "path": "zsh"}})
    with pytest.raises(ReleaseError, match="exactly one of 'name' and 'regex'"):
        dotslash.load_config(config)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("codex-zsh.tar.gz", "tar.gz"),
        ("codex-zsh.tar.zst", "tar.zst"),
        ("codex-zsh.tar.xz", "tar.xz"),
        ("codex-zsh.zip", "zip"),
        ("zsh", None),
    ],
)
def test_format_is_inferred_from_the_extension(name: str, expected: str | None) -> None:
    assert dotslash.archive_format(name) == expected


def test_bare_file_asset_parses_without_a_format(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "zsh-linux").write_bytes(b"#!/bin/sh\necho bare\n")
    config = write_config(tmp_path / "c.json", {"linux-x86_64": {"name": "zsh-linux", "path": "zsh"}})
    text, _ = dotslash.generate(config, dist, dotslash.Providers(url_base="http://127.0.0.1:1"))
    parsed = dotslash.write_checked(tmp_path / "out", text)
    assert "format" not in parsed["platforms"]["linux-x86_64"]


def test_rejected_file_never_replaces_a_good_one(tmp_path: Path) -> None:
    make_artifacts(tmp_path / "dist")
    generate(tmp_path)
    good = (tmp_path / "codex-zsh").read_bytes()
    bad = good.decode().replace('"blake3"', '"md5"')
    with pytest.raises(ReleaseError, match=r"dotslash rejects .*md5"):
        dotslash.write_checked(tmp_path / "codex-zsh", bad)
    assert (tmp_path / "codex-zsh").read_bytes() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".codex-zsh")] == []


def test_cli_available_writes_only_the_platforms_built_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = make_artifacts(tmp_path / "dist", ["aarch64-unknown-linux-musl"])
    out = tmp_path / "codex-zsh.dotslash"
    argv = ["dotslash", "generate", "--artifacts", str(dist), "--url-base", dist.as_uri(), "--available"]
    assert main([*argv, "--out", str(out)]) == 0
    parsed = dotslash.parse(out)
    name = targets.get("aarch64-unknown-linux-musl").asset_name
    assert parsed["platforms"] == {
        "linux-aarch64": {**parsed["platforms"]["linux-aarch64"], "providers": [{"url": f"{dist.as_uri()}/{name}"}]}
    }
    assert "1 platform(s)" in capsys.readouterr().out


def test_cli_available_with_no_artifacts_at_all_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dist").mkdir()
    argv = ["dotslash", "generate", "--artifacts", str(tmp_path / "dist"), "--url-base", "http://127.0.0.1:1"]
    assert main([*argv, "--available", "--out", str(tmp_path / "f")]) == 1
    assert capsys.readouterr().err == f"error: no asset for any platform of output 'codex-zsh' in {tmp_path / 'dist'}\n"


def test_cli_error_is_one_line_naming_the_platform(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dist = make_artifacts(tmp_path / "dist", ["x86_64-unknown-linux-musl"])
    argv = [
        "dotslash",
        "generate",
        "--artifacts",
        str(dist),
        "--url-base",
        "http://127.0.0.1:1",
        "--out",
        str(tmp_path / "f"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: platform linux-aarch64: no asset")
    assert "platform macos-aarch64" in err
    assert not (tmp_path / "f").exists()


def test_cli_needs_a_provider(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dist = make_artifacts(tmp_path / "dist")
    assert main(["dotslash", "generate", "--artifacts", str(dist), "--out", str(tmp_path / "f")]) == 1
    assert "give --github-repo and --tag, or --url-base" in capsys.readouterr().err


def test_config_command_prints_the_committed_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dotslash", "config"]) == 0
    assert capsys.readouterr().out == CONFIG.read_text()
