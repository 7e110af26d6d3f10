"""The GitHub workflows agree with the targets table and keep their security properties.

Schema validity and the security audit proper (check-jsonschema, zizmor) run in `nox -s lint`; these tests
pin the project's own rules: the build matrix is the targets table, every action is pinned to a commit,
credentials are not persisted, and each job gets only the permissions it needs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from release import targets

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+\.\d+\.\d+\s*$")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as a boolean.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


RELEASE = load("zsh-release.yml")
CI = load("ci.yml")
ALL = {"zsh-release.yml": RELEASE, "ci.yml": CI}


def test_build_matrix_is_the_targets_table_built_twice() -> None:
    matrix = RELEASE["jobs"]["build"]["strategy"]["matrix"]
    assert matrix == {
        "target": [t.triple for t in targets.TARGETS],
        "attempt": ["a", "b"],
        "include": [{"target": t.triple, "runner": t.runner} for t in targets.TARGETS],
    }


def test_every_target_builds_on_linux_and_the_native_smoke_matrix_is_the_tables_smoke_runners() -> None:
    assert {t.runner for t in targets.TARGETS} == {"ubuntu-24.04"}
    smoke_matrix = RELEASE["jobs"]["smoke"]["strategy"]["matrix"]
    expected = [{"target": t.triple, "runner": t.smoke_runner} for t in targets.TARGETS if t.smoke_runner]
    assert smoke_matrix == {"include": expected}
    assert RELEASE["jobs"]["smoke"]["needs"] == "build"
    (download,) = [s for s in RELEASE["jobs"]["smoke"]["steps"] if s.get("uses", "").startswith("actions/download-")]
    assert download["with"]["name"] == "codex-zsh-${{ matrix.target }}-a"
    runs = " ".join(s.get("run", "") for s in RELEASE["jobs"]["smoke"]["steps"])
    assert '--artifact "dist/codex-zsh-$TARGET.tar.gz"' in runs


def test_the_two_attempts_build_in_different_work_dirs_and_b_restores_no_cache() -> None:
    runs = " ".join(s.get("run", "") for s in RELEASE["jobs"]["build"]["steps"])
    assert '--work-dir "$RUNNER_TEMP/zsh-work-$ATTEMPT"' in runs
    (cache,) = [s for s in RELEASE["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["if"] == "matrix.attempt == 'a'"


def test_the_reproducibility_job_compares_the_two_attempts_and_gates_the_release() -> None:
    job = RELEASE["jobs"]["reproducible"]
    assert job["needs"] == "build"
    assert job["permissions"] == {"contents": "read"}
    patterns = [s["with"]["pattern"] for s in job["steps"] if s.get("uses", "").startswith("actions/download-")]
    assert patterns == ["codex-zsh-*-a", "codex-zsh-*-b"]
    assert "./nox -s zsh-compare -- dist-a dist-b" in " ".join(s.get("run", "") for s in job["steps"])
    assert set(RELEASE["jobs"]["attest"]["needs"]) == {"reproducible", "smoke"}
    assert RELEASE["jobs"]["publish"]["needs"] == "attest"


def test_the_attestation_job_alone_may_mint_tokens_and_write_attestations() -> None:
    jobs = RELEASE["jobs"]
    attest = jobs["attest"]
    assert attest["permissions"] == {"contents": "read", "id-token": "write", "attestations": "write"}
    assert attest["if"] == "startsWith(github.ref, 'refs/tags/zsh-v')"
    (step,) = [s for s in attest["steps"] if s.get("uses", "").startswith("actions/attest-build-provenance@")]
    assert re.fullmatch(r"actions/attest-build-provenance@[0-9a-f]{40}", step["uses"])
    assert step["with"] == {"subject-path": "dist/codex-zsh-*.tar.gz"}
    others = [job.get("permissions", {}) for name, job in jobs.items() if name != "attest"]
    assert not [p for p in others if {"id-token", "attestations"} & set(p)]


def test_build_uploads_each_targets_asset_under_the_name_publish_downloads() -> None:
    (upload,) = [
        s for s in RELEASE["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    ]
    (download,) = [
        s for s in RELEASE["jobs"]["publish"]["steps"] if s.get("uses", "").startswith("actions/download-artifact@")
    ]
    for t in targets.TARGETS:
        paths = upload["with"]["path"].replace("${{ matrix.target }}", t.triple).split()
        provenance = f"dist/codex-zsh-{t.triple}.provenance.json"
        assert paths == [f"dist/{t.asset_name}", f"dist/{t.asset_name}.sha256", provenance]
        name = upload["with"]["name"].replace("${{ matrix.target }}", t.triple).replace("${{ matrix.attempt }}", "a")
        assert re.fullmatch(download["with"]["pattern"].replace("*", ".*"), name)
    assert download["with"]["merge-multiple"] is True


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_action_is_pinned_to_a_full_commit_with_its_version(name: str) -> None:
    lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert lines
    assert [line for line in lines if not PINNED.match(line)] == []


@pytest.mark.parametrize("name", sorted(ALL))
def test_checkouts_do_not_persist_credentials(name: str) -> None:
    checkouts = [s for s in steps(ALL[name]) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


@pytest.mark.parametrize("name", sorted(ALL))
def test_workflow_has_a_concurrency_group(name: str) -> None:
    assert "github.ref" in ALL[name]["concurrency"]["group"]


def test_release_workflow_grants_nothing_by_default_and_writes_only_to_publish() -> None:
    assert RELEASE["permissions"] == {}
    jobs = RELEASE["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["reproducible"]["permissions"] == jobs["smoke"]["permissions"] == {"contents": "read"}
    assert jobs["publish"]["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_ci_is_read_only() -> None:
    assert CI["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in CI["jobs"].values())


def test_release_runs_on_source_changes_on_main_on_tags_and_by_hand() -> None:
    on = RELEASE["on"]
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["tags"] == ["zsh-v*"]
    assert {"release/zsh/**", "release/targets.py"} <= set(on["push"]["paths"])
    assert "workflow_dispatch" in on


def test_publish_runs_only_for_tags_after_every_build() -> None:
    publish = RELEASE["jobs"]["publish"]
    assert publish["needs"] == "attest"
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/zsh-v')"


def test_builds_and_publish_run_the_developers_nox_sessions() -> None:
    runs = " ".join(s.get("run", "") for s in steps(RELEASE))
    assert './nox -s zsh -- --target "$TARGET"' in runs
    assert "./nox -s zsh-smoke -- " in runs
    assert "./nox -s release -- " in runs


def test_the_fixture_pull_request_pins_the_dotslash_file_that_was_published() -> None:
    runs = [s.get("run", "") for s in RELEASE["jobs"]["publish"]["steps"]]
    published = re.search(r"./nox -s release -- .*--dotslash-out (\S+)", "\n".join(runs))
    assert published is not None
    assert f"python -m release fixture pin --from {published.group(1)}" in "\n".join(runs)


def test_release_builds_cache_zig_and_downloads_but_tag_builds_do_not_restore() -> None:
    (cache,) = [s for s in RELEASE["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"].split() == [".cache/zig", ".work/downloads"]
    assert cache["with"]["lookup-only"] == "${{ startsWith(github.ref, 'refs/tags/') }}"


def test_ci_runs_lint_and_tests_on_linux_and_macos() -> None:
    matrix = CI["jobs"]["nox"]["strategy"]["matrix"]
    assert matrix == {"os": ["ubuntu-24.04", "macos-15"], "session": ["lint", "tests"]}
    assert set(CI["on"]) == {"push", "pull_request"}


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    """Template injection: values reach `run:` through env, never through `${{ }}` in the script."""
    for workflow in ALL.values():
        for step in steps(workflow):
            assert "${{" not in step.get("run", "")


def nox_sessions() -> set[str]:
    """Session names declared in noxfile.py: the function name, or the decorator's `name=`."""
    names = set()
    for node in ast.parse((ROOT / "noxfile.py").read_text()).body:
        for decorator in getattr(node, "decorator_list", []):
            if ast.unparse(decorator).startswith("nox.session"):
                named = [k.value for k in getattr(decorator, "keywords", []) if k.arg == "name"]
                names.add(named[0].value if named and isinstance(named[0], ast.Constant) else node.name)
    return names


def test_every_nox_session_a_workflow_runs_exists() -> None:
    runs = " ".join(s.get("run", "") for workflow in ALL.values() for s in steps(workflow))
    used = set(re.findall(r"\./nox -s (\w[\w-]*)", runs)) | set(CI["jobs"]["nox"]["strategy"]["matrix"]["session"])
    assert used == {"zsh", "zsh-smoke", "zsh-compare", "release", "lint", "tests"}
    assert used <= nox_sessions()
