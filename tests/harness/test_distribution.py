"""The harness as another team gets it: its wheel alone in a fresh virtualenv, a suite outside this checkout,
the upstream binary found on PATH, and none of this repository's other packages importable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from codex_app_harness.upstream import UpstreamMissing, codex_binary

HARNESS_PROJECT = Path(__file__).resolve().parents[2] / "harness"
OTHER_PACKAGES = ("server", "release", "fixtures", "codex_app_tools", "harness")
SUITE = """
from pathlib import Path

from codex_app_harness import Client


def test_a_written_file_is_reported_to_its_watch(app_server: Client, tmp_path: Path) -> None:
    app_server.request("fs/watch", {"path": str(tmp_path), "watchId": "w1"})
    (tmp_path / "notes.txt").write_text("hello")
    change = app_server.wait_for("fs/changed", match={"watchId": "w1"})
    assert change["watchId"] == "w1"


def test_the_upstream_binary_was_found_on_path(app_server_kind: str, app_server: Client) -> None:
    assert app_server_kind == "codex"
    assert app_server.init_result is not None and "userAgent" in app_server.init_result
"""


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


def test_the_wheel_alone_runs_a_suite_against_upstream_from_outside_the_repository(tmp_path: Path) -> None:
    try:
        upstream = codex_binary()
    except UpstreamMissing as missing:
        pytest.fail(f"this test needs the upstream binary: {missing}")
    # Built from a copy: setuptools writes build/ and egg-info next to the sources, and the checkout stays clean.
    source = tmp_path / "source"
    shutil.copytree(HARNESS_PROJECT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    wheels = tmp_path / "wheels"
    # pip builds it the way it builds any sdist: setuptools per [build-system], from the configured index.
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ]
    )
    (wheel,) = wheels.glob("codex_app_harness-*.whl")

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    # The machine's configured index (pip.conf, PIP_INDEX_URL) provides the three dependencies.
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)])

    project = tmp_path / "their-project"
    project.mkdir()
    (project / "test_their_client.py").write_text(textwrap.dedent(SUITE))
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    (path_dir / "codex").symlink_to(upstream)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "APP_SERVER", "APP_SERVER_URL")}
    env["PATH"] = f"{environment / 'bin'}{os.pathsep}{path_dir}{os.pathsep}{env.get('PATH', '')}"

    done = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--app-server=codex"], cwd=project, env=env
    )
    assert "2 passed" in done.stdout, done.stdout

    probe = f"import importlib.util as u; print([n for n in {OTHER_PACKAGES!r} if u.find_spec(n) is not None])"
    importable = run([str(python), "-c", probe], cwd=project, env=env).stdout.strip()
    assert importable == "[]", f"the harness wheel made these importable: {importable}"
