"""Every task a developer or CI runs, in one place.

`./nox -s tests` is the test command (what `.ci/run` runs); `./nox -s zsh` is the main job. Sessions share
one virtualenv per set of extras so a second run does not reinstall the world.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
CACHE = ROOT / ".cache"
SCHEMA_DIR = CACHE / "upstream-schema"
HARNESS = ROOT / "harness"
LINT_PATHS = ["server", "harness/src", "release", "fixtures", "codex_app_tools"]
HARNESS_PROJECT = tomllib.loads((HARNESS / "pyproject.toml").read_text())["project"]
HARNESS_PYTHONS = [
    claim.rsplit(" :: ", 1)[1]
    for claim in HARNESS_PROJECT["classifiers"]
    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", claim)
]
HARNESS_TEST_TOOLS = ["pytest-xdist", "mypy", "openai-codex-cli-bin==0.163.0"]
"""What tests/harness needs besides the harness: inner runs under xdist, the mypy check of a user's test file,
and the upstream binary (the wheel-alone and record/replay tests). The rest of tests/ imports only the
standard library and this checkout's packages, found from the working directory."""


def install_project(session: nox.Session, *extras: str) -> None:
    """Install the project and the harness distribution it depends on (both editable, from this checkout,
    so tracebacks point at it) with the given extras."""
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", str(HARNESS), "-e", spec)


def upstream_schema(session: nox.Session, *, experimental: bool = False) -> Path:
    """Generate the upstream server's JSON schema once; it is a build output, cached outside git."""
    out = SCHEMA_DIR / ("experimental" if experimental else "stable")
    args = ["python", "-m", "codex_app_harness.upstream", "schema", "--out", str(out)]
    if experimental:
        args.append("--experimental")
    session.run(*args)
    return out


def xdist_workers() -> str:
    """Two workers on the 2-core CI machines; `auto` elsewhere."""
    return os.environ.get("PYTEST_XDIST_WORKERS", "auto")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and integration tests against our server, every message checked against the upstream schema."""
    install_project(session, "test", "upstream")
    schema = upstream_schema(session, experimental=True)
    session.run(
        "pytest",
        "-n",
        xdist_workers(),
        "--app-server=python",
        f"--app-server-schema={schema}",
        *session.posargs,
    )


OUR_SERVER_TEST = (
    "tests/harness/test_plugin.py::test_app_server_url_drives_a_running_websocket_server_with_a_bearer_token"
)
"""The one harness test that starts our own server (as a bearer-token websocket server to point
--app-server-url at): it needs the main distribution's dependencies, which these sessions leave out on
purpose, so `./nox -s tests` runs it instead."""


def harness_tests(session: nox.Session) -> None:
    """tests/harness with temporary files outside the checkout (nox would put them in .nox/): the wheel-alone
    test must run its suite from a directory that is not inside this repository."""
    workers = xdist_workers()
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        workers,
        "-p",
        "no:cacheprovider",
        "tests/harness",
        "--deselect",
        OUR_SERVER_TEST,
        *session.posargs,
        env={"TMPDIR": tempfile.gettempdir()},
    )


@nox.session(python=HARNESS_PYTHONS)
def harness(session: nox.Session) -> None:
    """The harness's own tests on every Python its pyproject claims, with the harness installed the way a
    user gets it (built and installed, not editable). Not part of `tests`: three interpreters and venvs.

    nox finds `python3.X` on PATH; with pyenv, expose them all: `PYENV_VERSION=3.11.7:3.12.1:3.13.0`.
    """
    session.install(str(HARNESS), *HARNESS_TEST_TOOLS)
    harness_tests(session)


@nox.session(name="harness-lowest", python=HARNESS_PYTHONS[0])
def harness_lowest(session: nox.Session) -> None:
    """The harness's tests with the lowest versions its dependencies declare (`>=X` installed as `==X`), on
    its lowest Python: a lower bound that no longer works fails here, not at a user's."""
    pins = []
    for requirement in HARNESS_PROJECT["dependencies"]:
        bound = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([^,;\s]+)", requirement)
        if bound is None:
            session.error(f"harness dependency {requirement!r} is not NAME>=VERSION: its lowest version is unclear")
        pins.append(f"{bound[1]}=={bound[2]}")
    constraints = Path(session.create_tmp()) / "lowest-constraints.txt"
    constraints.write_text("".join(pin + "\n" for pin in pins))
    session.install("-c", str(constraints), str(HARNESS), *HARNESS_TEST_TOOLS)
    session.run("python", "-m", "pip", "list", "--format=freeze")
    harness_tests(session)


@nox.session
def conformance(session: nox.Session) -> None:
    """The protocol-only integration suite against the upstream binary: proves the tests pin real behaviour."""
    install_project(session, "test", "upstream")
    session.run("pytest", "-n", xdist_workers(), "tests/integration", "--app-server=codex", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict and the import contracts (pyproject.toml [tool.importlinter]) over the packages."""
    install_project(session, "test", "upstream")
    session.install("ruff", "mypy", "types-requests", "types-PyYAML", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", *LINT_PATHS)
    session.run("lint-imports")
    # The GitHub workflows: schema, then the security audit (pinning, permissions, injection, credentials).
    # Both ship binary wheels (nothing is built at install time); zizmor --offline makes no GitHub API calls.
    session.install("check-jsonschema", "zizmor")
    workflows = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    session.run("zizmor", "--offline", *workflows)


@nox.session
def dotslash(session: nox.Session) -> None:
    """A DotSlash file for the packaged artifacts in dist/: `nox -s dotslash -- --url-base URL --out FILE`."""
    install_project(session)
    session.run("python", "-m", "release", "dotslash", "generate", "--artifacts", "dist", *session.posargs)


@nox.session
def release(session: nox.Session) -> None:
    """Publish dist/ as a GitHub release; `nox -s release -- --dry-run` prints the whole plan, no network."""
    install_project(session)
    session.run("python", "-m", "release", "publish", "--artifacts", "dist", *session.posargs)


@nox.session
def zsh(session: nox.Session) -> None:
    """The main job: build the patched zsh for this machine (or `-- --target T`), smoke-test and package it.

    Writes dist/codex-zsh-<target>.tar.gz with its .sha256, provenance JSON and separate debug file.
    """
    install_project(session, "zsh")
    session.run("python", "-m", "release", "zsh", "all", "--install-qemu", *session.posargs)
    # DotSlash file for what dist/ now holds, fetched from dist/ itself: `dotslash dist/codex-zsh.dotslash`
    # runs the local build exactly the way users run a release (--available: a build makes one target).
    session.run(
        "python",
        "-m",
        "release",
        "dotslash",
        "generate",
        "--artifacts",
        "dist",
        "--available",
        "--url-base",
        (ROOT / "dist").as_uri(),
        "--out",
        "dist/codex-zsh.dotslash",
    )


@nox.session(name="zsh-check")
def zsh_check(session: nox.Session) -> None:
    """zsh's own test suite (`make check`) on the static build; only the listed musl differences may fail."""
    install_project(session, "zsh")
    session.run("python", "-m", "release", "zsh", "build", *session.posargs)
    session.run("python", "-m", "release", "zsh", "check", *session.posargs)


@nox.session(name="zsh-smoke")
def zsh_smoke(session: nox.Session) -> None:
    """Smoke-test a build, or with `-- --artifact TARBALL` a packaged artifact (the macos-15 runner's job)."""
    install_project(session, "zsh")
    session.run("python", "-m", "release", "zsh", "smoke", *session.posargs)


@nox.session(name="zsh-compare")
def zsh_compare(session: nox.Session) -> None:
    """`-- DIR_A DIR_B`: fail unless both hold every target's tarball with the same digests."""
    install_project(session)
    session.run("python", "-m", "release", "zsh", "compare", *session.posargs)


@nox.session(name="zsh-repro")
def zsh_repro(session: nox.Session) -> None:
    """Two clean builds of one target (`-- --target T`) in two work dirs; fails if the tarballs differ.

    Without arguments, the tests that build every target twice (about 25 minutes on 2 cores, so not in
    the default test run).
    """
    install_project(session, "test")
    if session.posargs:
        session.run("python", "-m", "release", "zsh", "repro", *session.posargs)
    else:
        session.run("pytest", "-n", "0", "-p", "no:cacheprovider", "-m", "repro", "tests/release/test_zsh_repro.py")


@nox.session(name="zsh-container")
def zsh_container(session: nox.Session) -> None:
    """The Linux build inside a container through the docker SDK; needs a running engine.

    The image comes from ZSH_CONTAINER_IMAGE (default python:3.11-slim-bookworm) and needs python3-venv.
    """
    install_project(session, "test", "container")
    image = os.environ.get("ZSH_CONTAINER_IMAGE", "python:3.11-slim-bookworm")
    args = ["tests/release/test_zsh_container.py", "-m", "container", "-p", "no:cacheprovider", *session.posargs]
    session.run("pytest", *args, env={"ZSH_CONTAINER_IMAGE": image})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, ours against upstream in one run; JSON results land in bench/results/."""
    install_project(session, "test", "upstream")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def flake(session: nox.Session) -> None:
    """The integration suite 20 times under chaos with different seeds: order dependence shows up here."""
    install_project(session, "test", "upstream")
    runs = int(os.environ.get("FLAKE_RUNS", "20"))
    pytest_args = ["pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "tests/integration", *session.posargs]
    passed = failed = 0
    failed_seeds = []
    for seed in range(1, runs + 1):
        try:
            session.run(*pytest_args, f"--harness-chaos={seed}")
            passed += 1
        except nox.command.CommandFailed:
            failed += 1
            failed_seeds.append(seed)
            session.warn(f"run with chaos seed {seed} failed")
    print(f"{passed} passed, {failed} failed" + (f" (seeds {failed_seeds})" if failed_seeds else ""))
    if failed:
        session.error(f"{failed} of {runs} chaos runs failed")
