"""Publishing against the loopback GitHub stand-in: first publish, re-runs, conflicts, retries, drafts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.github_api import FakeGitHub
from release import dotslash, targets
from release.__main__ import main
from release.errors import ReleaseError
from release.github import GitHubClient, RetryPolicy
from release.publish import Plan, build_plan, publish
from tests.release.dotslash_helpers import make_archive, make_artifacts, run_dotslash

TOKEN = "ghp_teststandin0123456789abcdef"
REPO = "acme/codex"
TAG = "zsh-v5.9-1"
ARCHIVES = [t.asset_name for t in targets.TARGETS]
EXPECTED_ASSETS = {*ARCHIVES, *(f"{a}.sha256" for a in ARCHIVES), "codex-zsh"}


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub(TOKEN) as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_SERVER_URL", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield fake


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return make_artifacts(tmp_path / "dist")


class Run:
    """One publish with a recording sleep and log, so tests see the waits asked for without waiting."""

    def __init__(self, github: FakeGitHub) -> None:
        self.github = github
        self.sleeps: list[float] = []
        self.lines: list[str] = []

    def __call__(self, plan: Plan, **kwargs: object) -> dict[str, object]:
        with GitHubClient(self.github.url, TOKEN) as client:
            return publish(plan, client, sleep=self.sleeps.append, log=self.lines.append, **kwargs)  # type: ignore[arg-type]


def plan(dist: Path) -> Plan:
    return build_plan(dotslash.DEFAULT_CONFIG, dist, REPO, TAG)


def uploads(github: FakeGitHub) -> list[str]:
    return [r.query["name"][0] for r in github.requests if r.method == "POST" and r.path.startswith("/uploads/")]


def test_first_publish_uploads_every_asset_to_a_draft_then_publishes(github: FakeGitHub, dist: Path) -> None:
    released = Run(github)(plan(dist))
    assert released["draft"] is False
    release = github.release(REPO, TAG)
    assert release is not None
    assert {a["name"] for a in release["assets"]} == EXPECTED_ASSETS
    for name in ARCHIVES:
        assert github.asset_data(REPO, TAG, name) == (dist / name).read_bytes()
        sha = hashlib.sha256((dist / name).read_bytes()).hexdigest()
        assert github.asset_data(REPO, TAG, f"{name}.sha256") == f"{sha}  {name}\n".encode()
    methods = [(r.method, r.path.rsplit("/", 2)[-2:]) for r in github.requests]
    assert methods.index(("PATCH", methods[-1][1])) == len(methods) - 1, "published only after the last upload"
    assert uploads(github)[-1] == "codex-zsh", "the DotSlash file goes up last"


def test_the_uploaded_dotslash_file_is_the_planned_one_and_parses(
    github: FakeGitHub, dist: Path, tmp_path: Path
) -> None:
    the_plan = plan(dist)
    Run(github)(the_plan)
    published = tmp_path / "codex-zsh"
    published.write_bytes(github.asset_data(REPO, TAG, "codex-zsh"))
    assert published.read_text() == the_plan.dotslash_text
    assert set(dotslash.parse(published)["platforms"]) == {t.dotslash_platform for t in targets.TARGETS}


def test_published_dotslash_file_fetches_from_the_release_with_real_dotslash(
    github: FakeGitHub, dist: Path, tmp_path: Path
) -> None:
    Run(github)(plan(dist))
    published = tmp_path / "codex-zsh"
    published.write_bytes(github.asset_data(REPO, TAG, "codex-zsh"))
    # A `gh` that always fails: the github-release provider is tried first and must fall back to the url one,
    # which points at the stand-in's public download path.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "gh").write_text("#!/bin/sh\nexit 1\n")
    (fake_bin / "gh").chmod(0o755)
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin"}
    result = run_dotslash(published, "--version", cache=tmp_path / "cache", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"synthetic {targets.host().triple} --version"


def test_rerun_changes_nothing(github: FakeGitHub, dist: Path) -> None:
    Run(github)(plan(dist))
    before = len(github.requests)
    again = Run(github)
    again(plan(dist))
    later = github.requests[before:]
    assert [r.method for r in later if r.method != "GET"] == []
    assert sum("skipped" in line for line in again.lines) == len(EXPECTED_ASSETS)
    assert "already published" in again.lines[-1]


def test_conflicting_asset_is_refused_before_any_upload(github: FakeGitHub, dist: Path) -> None:
    github.seed(REPO, TAG, {ARCHIVES[0]: b"other bytes"})
    with pytest.raises(ReleaseError, match=rf"already has different {ARCHIVES[0]}; pass --replace"):
        Run(github)(plan(dist))
    assert uploads(github) == []
    assert github.asset_data(REPO, TAG, ARCHIVES[0]) == b"other bytes"


def test_replace_overwrites_a_conflicting_asset(github: FakeGitHub, dist: Path) -> None:
    github.seed(REPO, TAG, {ARCHIVES[0]: b"other bytes"})
    Run(github)(plan(dist), replace=True)
    assert github.asset_data(REPO, TAG, ARCHIVES[0]) == (dist / ARCHIVES[0]).read_bytes()
    assert [r.method for r in github.requests].count("DELETE") == 1


def test_502_on_an_upload_is_retried_and_the_release_completes(github: FakeGitHub, dist: Path) -> None:
    github.fail("POST", r"^/uploads/.*name=codex-zsh-aarch64-apple-darwin\.tar\.gz$", status=502)
    run = Run(github)
    run(plan(dist))
    release = github.release(REPO, TAG)
    assert release is not None
    assert release["draft"] is False
    assert sorted(a["name"] for a in release["assets"]) == sorted(EXPECTED_ASSETS)
    assert run.sleeps == [1.0]
    assert any("502" in line and "retrying in 1s (attempt 2 of 5)" in line for line in run.lines)


def test_upload_that_died_midway_is_replaced_on_retry(github: FakeGitHub, dist: Path) -> None:
    github.fail("POST", rf"name={ARCHIVES[1]}$", status=502, leave_starter=True)
    Run(github)(plan(dist))
    release = github.release(REPO, TAG)
    assert release is not None
    states = {a["name"]: a["state"] for a in release["assets"]}
    assert states[ARCHIVES[1]] == "uploaded"
    assert github.asset_data(REPO, TAG, ARCHIVES[1]) == (dist / ARCHIVES[1]).read_bytes()


def test_upload_failing_every_attempt_leaves_a_draft_that_a_rerun_completes(github: FakeGitHub, dist: Path) -> None:
    github.fail("POST", rf"name={ARCHIVES[2]}$", status=503, times=100)
    with pytest.raises(
        ReleaseError, match=r"503 .*gave up after 5 attempts\); release zsh-v5.9-1 is left a draft: re-run to resume$"
    ):
        Run(github)(plan(dist))
    release = github.release(REPO, TAG)
    assert release is not None
    assert release["draft"] is True
    assert {a["name"] for a in release["assets"]} == set(ARCHIVES[:2])
    github.clear_failures()
    before = len(github.requests)
    Run(github)(plan(dist))
    assert github.release(REPO, TAG)["draft"] is False  # type: ignore[index]
    later_uploads = [r.query["name"][0] for r in github.requests[before:] if r.path.startswith("/uploads/")]
    assert sorted(later_uploads) == sorted(EXPECTED_ASSETS - set(ARCHIVES[:2]))


def test_draft_is_invisible_to_the_public_until_published(github: FakeGitHub, dist: Path) -> None:
    github.fail("POST", r"name=codex-zsh$", status=500, times=100)
    with pytest.raises(ReleaseError):
        Run(github)(plan(dist))
    with GitHubClient(github.url, TOKEN) as client:
        public = client.request("GET", f"/repos/{REPO}/releases/tags/{TAG}", expect=(200, 404))
        download = client.request(
            "GET", f"{github.url}/{REPO}/releases/download/{TAG}/{ARCHIVES[0]}", expect=(200, 404)
        )
    assert (public.status_code, download.status_code) == (404, 404)


def test_rate_limit_retry_after_is_honoured(github: FakeGitHub, dist: Path) -> None:
    github.rate_limit("GET", r"/releases/tags/", retry_after=7)
    run = Run(github)
    run(plan(dist))
    assert run.sleeps == [7.0]


def test_rate_limit_reset_time_is_honoured(github: FakeGitHub, dist: Path) -> None:
    github.rate_limit("POST", r"/repos/acme/codex/releases$", reset_in=30)
    run = Run(github)
    run(plan(dist))
    assert len(run.sleeps) == 1
    assert 20 < run.sleeps[0] <= 32
    assert github.release(REPO, TAG)["draft"] is False  # type: ignore[index]


def test_rate_limit_resetting_too_late_stops_with_the_time_to_rerun(github: FakeGitHub, dist: Path) -> None:
    github.rate_limit("GET", r"/releases/tags/", reset_in=3600)
    run = Run(github)
    with pytest.raises(
        ReleaseError, match=r"API rate limit exceeded; GitHub asks us to wait until .* UTC: re-run then"
    ):
        run(plan(dist), policy=RetryPolicy(max_wait=300))
    assert run.sleeps == []


def test_existing_assets_are_compared_by_download_when_github_reports_no_digest(
    monkeypatch: pytest.MonkeyPatch, dist: Path
) -> None:
    with FakeGitHub(TOKEN, report_digests=False) as github:
        monkeypatch.setenv("GITHUB_SERVER_URL", github.url)
        Run(github)(plan(dist))
        before = len(github.requests)
        Run(github)(plan(dist))
        downloads = [r for r in github.requests[before:] if "/releases/assets/" in r.path and r.method == "GET"]
        assert len(downloads) == len(EXPECTED_ASSETS)
        assert uploads(github)[len(EXPECTED_ASSETS) :] == []


def test_draft_older_than_the_first_page_of_releases_is_found_and_resumed(
    monkeypatch: pytest.MonkeyPatch, dist: Path
) -> None:
    with FakeGitHub(TOKEN, per_page_max=2) as github:
        monkeypatch.setenv("GITHUB_SERVER_URL", github.url)
        draft = github.seed(REPO, TAG, draft=True)
        for n in range(5):
            github.seed(REPO, f"zsh-v5.8-{n}")
        Run(github)(plan(dist))
        assert [r["id"] for r in github.releases(REPO) if r["tag_name"] == TAG] == [draft["id"]]
        assert github.release(REPO, TAG)["draft"] is False  # type: ignore[index]


def test_stale_checksum_file_from_the_build_is_refused(dist: Path) -> None:
    (dist / f"{ARCHIVES[0]}.sha256").write_text(f"{'0' * 64}  {ARCHIVES[0]}\n")
    with pytest.raises(ReleaseError, match=rf"platform linux-x86_64: {ARCHIVES[0]}\.sha256 does not match"):
        plan(dist)


def test_missing_token_is_a_clear_one_line_error(
    github: FakeGitHub, dist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    assert main(["publish", "--repo", REPO, "--tag", TAG, "--artifacts", str(dist)]) == 1
    err = capsys.readouterr().err
    assert err == "error: GITHUB_TOKEN is not set: export a token that may write releases (contents: write)\n"
    assert github.requests == []


def test_bad_token_is_a_one_line_error_that_does_not_echo_it(
    github: FakeGitHub, dist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrongtoken0123456789")
    assert main(["publish", "--repo", REPO, "--tag", TAG, "--artifacts", str(dist)]) == 1
    out, err = capsys.readouterr()
    assert err.count("error:") == 1
    assert err.splitlines()[-1] == f"error: GitHub: GET /repos/{REPO}/releases/tags/{TAG} -> 401 Bad credentials"
    assert "ghp_wrongtoken" not in out + err


def test_cli_publish_never_prints_the_token(
    github: FakeGitHub, dist: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    github.fail("POST", r"name=codex-zsh$", status=502)
    out_file = tmp_path / "codex-zsh"
    argv = ["publish", "--repo", REPO, "--tag", TAG, "--artifacts", str(dist), "--dotslash-out", str(out_file)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "published" in out
    assert TOKEN not in out + err
    assert all(r.authorized for r in github.requests if not r.path.startswith(f"/{REPO}/"))
    assert out_file.read_bytes() == github.asset_data(REPO, TAG, "codex-zsh")


def test_dry_run_prints_the_whole_plan_without_network_or_token(
    github: FakeGitHub, dist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    assert main(["publish", "--repo", REPO, "--tag", TAG, "--artifacts", str(dist), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert github.requests == []
    for t in targets.TARGETS:
        archive = (dist / t.asset_name).read_bytes()
        assert t.triple in out
        assert t.dotslash_platform in out
        assert hashlib.sha256(archive).hexdigest() in out
        assert f"{github.url}/{REPO}/releases/download/{TAG}/{t.asset_name}" in out
        assert f"{t.asset_name}.sha256" in out
    assert '"hash": "blake3"' in out
    assert "nothing was sent to GitHub" in out


def test_dry_run_without_repo_or_tag_shows_placeholders(
    dist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    assert main(["publish", "--artifacts", str(dist), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("release TAG on OWNER/REPO")
    assert "placeholders: pass --repo" in out


def test_dry_run_lists_every_problem_then_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = make_artifacts(tmp_path / "dist", ["x86_64-unknown-linux-musl"])
    make_archive(dist / "unrelated.tar.gz")
    assert main(["publish", "--repo", REPO, "--tag", TAG, "--artifacts", str(dist), "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert "platform linux-aarch64: no asset" in out
    assert "platform macos-aarch64: no asset" in out
    assert err.endswith("\nerror: the plan has 2 problem(s), listed above\n")
