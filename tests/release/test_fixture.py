"""`fixture pin`: the tests' DotSlash file moves only to a file dotslash parses and that covers every target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release import dotslash, fixture, targets
from release.__main__ import main
from release.errors import ReleaseError
from tests.release.dotslash_helpers import make_artifacts


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A DotSlash file as the release workflow would download it from a published release."""
    dist = make_artifacts(tmp_path / "dist")
    providers = dotslash.Providers(github_repo="acme/codex", tag="zsh-v5.9-2")
    text, _ = dotslash.generate(dotslash.DEFAULT_CONFIG, dist, providers)
    out = tmp_path / "codex-zsh"
    dotslash.write_checked(out, text)
    return out


def test_pin_copies_the_file_byte_for_byte(published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pin = tmp_path / "fixtures" / "zsh" / "codex-zsh"
    assert main(["fixture", "pin", "--from", str(published), "--to", str(pin)]) == 0
    assert pin.read_bytes() == published.read_bytes()
    assert capsys.readouterr().out == f"pinned {pin} to zsh-v5.9-2\n"


def test_pinning_the_same_file_again_changes_nothing(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin = tmp_path / "codex-zsh-pin"
    assert fixture.pin(published, pin) is True
    capsys.readouterr()
    assert main(["fixture", "pin", "--from", str(published), "--to", str(pin)]) == 0
    assert "already pinned" in capsys.readouterr().out


def test_file_that_does_not_parse_is_refused_and_the_pin_kept(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin = tmp_path / "pin"
    fixture.pin(published, pin)
    broken = tmp_path / "broken"
    broken.write_text(published.read_text().replace('"size"', '"sise"'))
    assert main(["fixture", "pin", "--from", str(broken), "--to", str(pin)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: dotslash rejects {broken}:")
    assert err.count("\n") == 1
    assert pin.read_bytes() == published.read_bytes()


@pytest.mark.parametrize("dropped", [t.triple for t in targets.TARGETS])
def test_file_lacking_a_target_is_refused_naming_it(published: Path, tmp_path: Path, dropped: str) -> None:
    target = targets.get(dropped)
    body = json.loads(published.read_text().split("\n", 1)[1])
    del body["platforms"][target.dotslash_platform]
    partial = tmp_path / "partial"
    partial.write_text(f"#!/usr/bin/env dotslash\n{json.dumps(body)}\n")
    pin = tmp_path / "pin"
    with pytest.raises(ReleaseError, match=rf"lacks target platform\(s\) {target.dotslash_platform} \({dropped}\)"):
        fixture.pin(partial, pin)
    assert not pin.exists()


def test_missing_source_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixture", "pin", "--from", str(tmp_path / "nope"), "--to", str(tmp_path / "pin")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'} does not exist\n"
