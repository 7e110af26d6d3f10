"""The zig pin is written once (the `zsh` extra in pyproject.toml); anything else that names a ziglang
version must agree with it, or the build's cache key and provenance would describe a different compiler."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"ziglang\s*(==|>=|~=|<=)\s*([0-9][\w.]*)")


def the_pin() -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (spec,) = [s for s in extras["zsh"] if s.startswith("ziglang")]
    match = PIN.fullmatch(spec)
    assert match is not None
    assert match.group(1) == "==", spec
    return match.group(2)


def mentions() -> list[tuple[str, str]]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    found = []
    for name in files.splitlines():
        path = ROOT / name
        if path.suffix not in {".py", ".toml", ".yml", ".yaml", ".md", ".json", ".txt", ".cfg"} or not path.is_file():
            continue
        for match in PIN.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.append((name, match.group(2)))
    return found


def test_pyproject_pins_zig_exactly_once() -> None:
    in_pyproject = [version for name, version in mentions() if name == "pyproject.toml"]
    assert in_pyproject == [the_pin()]


def test_every_other_mention_of_a_zig_version_agrees_with_the_pin() -> None:
    pin, this_file = the_pin(), Path(__file__).relative_to(ROOT).as_posix()
    assert [(name, v) for name, v in mentions() if v != pin and name != this_file] == []


def test_the_test_extra_takes_zig_from_the_zsh_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "codex-app-tools[zsh]" in extras["test"]
