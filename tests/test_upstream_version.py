"""The upstream release we follow is written in several places that cannot import one another (our server,
the harness distribution, the dependency pins, the README); this fails as soon as one of them moves alone."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from codex_app_harness.upstream import UPSTREAM_VERSION
from server import UPSTREAM_PROTOCOL_VERSION

REPO = Path(__file__).resolve().parents[1]
UPSTREAM_DISTRIBUTIONS = ("openai-codex", "openai-codex-cli-bin")


def pins(pyproject: Path) -> dict[str, str]:
    """`name -> version` of every `==` pin on an upstream distribution, dependencies and extras alike."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = [*project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    found = {}
    for text in requirements:
        requirement = Requirement(text)
        if requirement.name in UPSTREAM_DISTRIBUTIONS:
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{pyproject.name}: {text} must pin one version"
            found[f"{pyproject.relative_to(REPO)}: {requirement.name}"] = spec.version
    return found


def test_every_copy_of_the_upstream_version_agrees() -> None:
    copies = {
        "server.UPSTREAM_PROTOCOL_VERSION": UPSTREAM_PROTOCOL_VERSION,
        "codex_app_harness.upstream.UPSTREAM_VERSION": UPSTREAM_VERSION,
        **pins(REPO / "pyproject.toml"),
        **pins(REPO / "harness" / "pyproject.toml"),
    }
    for pinned in re.findall(r"openai-codex(?:-cli-bin)?==([\d.]+)", (REPO / "README.md").read_text()):
        copies.setdefault("README.md", pinned)
    assert len(copies) >= 5, copies
    assert set(copies.values()) == {UPSTREAM_PROTOCOL_VERSION}, copies


@pytest.mark.parametrize("distribution", UPSTREAM_DISTRIBUTIONS)
def test_the_installed_upstream_is_the_pinned_one(distribution: str) -> None:
    try:
        installed = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed in this environment")
    assert installed == UPSTREAM_PROTOCOL_VERSION
