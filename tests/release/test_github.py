"""The GitHub client: how failures are classified and how long the retry loop waits."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from fixtures.github_api import FakeGitHub
from release.errors import ReleaseError
from release.github import GitHubClient, GitHubError, RetryPolicy, TransientError, api_url_from_env, retrying

TOKEN = "ghp_clienttest0123456789"  # the stand-in's token


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(TOKEN) as fake:
        yield fake


def classify(github: FakeGitHub) -> GitHubError:
    with GitHubClient(github.url, TOKEN) as client, pytest.raises(GitHubError) as caught:
        client.find_release("acme/codex", "v1")
    return caught.value


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    error = TransientError("x")
    assert [policy.delay(n, error) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retrying_gives_up_after_the_attempts_with_the_last_error() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def step() -> None:
        calls.append(1)
        raise TransientError("GitHub: GET /x -> 502 Bad Gateway", 502)

    with pytest.raises(GitHubError, match=r"502 Bad Gateway \(gave up after 3 attempts\)$"):
        retrying(step, RetryPolicy(attempts=3), sleep=sleeps.append, log=lambda _: None)
    assert len(calls) == 3
    assert sleeps == [1.0, 2.0]


def test_server_errors_are_transient(github: FakeGitHub) -> None:
    github.fail("GET", "/releases/tags/", status=503)
    error = classify(github)
    assert isinstance(error, TransientError)
    assert error.wait is None


def test_429_without_retry_after_is_transient_with_backoff(github: FakeGitHub) -> None:
    github.fail("GET", "/releases/tags/", status=429)
    error = classify(github)
    assert isinstance(error, TransientError)
    assert error.wait is None


def test_secondary_rate_limit_without_headers_waits_a_minute(github: FakeGitHub) -> None:
    github.fail("GET", "/releases/tags/", status=403, message="You have exceeded a secondary rate limit")
    error = classify(github)
    assert isinstance(error, TransientError)
    assert error.wait == 60.0


def test_plain_403_is_not_retried(github: FakeGitHub) -> None:
    github.fail("GET", "/releases/tags/", status=403, message="Resource not accessible by integration")
    error = classify(github)
    assert not isinstance(error, TransientError)
    assert str(error) == "GitHub: GET /repos/acme/codex/releases/tags/v1 -> 403 Resource not accessible by integration"


def test_validation_error_codes_are_in_the_message(github: FakeGitHub) -> None:
    release = github.seed("acme/codex", "v1", {"a.txt": b"a"})
    with GitHubClient(github.url, TOKEN) as client, pytest.raises(GitHubError, match=r"422 .*\(already_exists\)$"):
        client.upload_asset(release, "a.txt", b"b", "text/plain")


def test_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with GitHubClient(f"http://127.0.0.1:{port}", TOKEN, timeout=5) as client, pytest.raises(TransientError):
        client.find_release("acme/codex", "v1")


def test_wait_too_long_for_the_policy_stops_instead_of_sleeping() -> None:
    with pytest.raises(ReleaseError, match="re-run then"):
        RetryPolicy(max_wait=10).delay(1, TransientError("limited", 403, wait=11))


def test_uploads_go_to_the_upload_url_the_api_returns(github: FakeGitHub) -> None:
    release = github.seed("acme/codex", "v1")
    with GitHubClient(github.url, TOKEN) as client:
        client.upload_asset(release, "b.txt", b"b", "text/plain")
    (upload,) = [r for r in github.requests if r.method == "POST"]
    assert upload.path == f"/uploads/repos/acme/codex/releases/{release['id']}/assets"
    assert upload.query == {"name": ["b.txt"]}


def test_api_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.test/api/v3/")
    assert api_url_from_env() == "https://ghe.example.test/api/v3"
