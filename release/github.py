"""The GitHub REST releases API, through requests: just what publishing needs.

The base URL comes from `GITHUB_API_URL` (set by Actions, and the GitHub Enterprise convention), so tests
point it at the loopback stand-in in `fixtures/github_api.py`. The token comes from `GITHUB_TOKEN` and lives
only in the session's Authorization header: no message, log line or exception built here contains it.

Failures GitHub expects clients to retry (5xx, rate limits, dropped connections) raise `TransientError`
carrying how long GitHub asked us to wait; `retrying()` is the one bounded retry loop. Calls are not retried
one by one: a POST that died with a 502 may or may not have created its release or asset, so the caller
retries a whole idempotent step that looks before it writes (see `release.publish`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests

from release.errors import ReleaseError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
# A repository with more releases than this has older ones we will not page through to find a draft;
# drafts are recent by nature, and the bound keeps a broken `Link` header from looping forever.
MAX_RELEASE_PAGES = 10
JSON = dict[str, Any]
T = TypeVar("T")


class GitHubError(ReleaseError):
    """GitHub answered with an error status; the message has the method, path, status and GitHub's reason."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(GitHubError):
    """A failure worth retrying; `wait` is the delay GitHub asked for (Retry-After, rate-limit reset)."""

    def __init__(self, message: str, status: int | None = None, wait: float | None = None) -> None:
        super().__init__(message, status)
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff. GitHub's own advice: honour retry-after and x-ratelimit-reset, and wait
    at least a minute on a secondary rate limit without either header."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_wait: float = 300.0
    """Longest wait we accept from GitHub; beyond it (an hourly limit resetting in 40 minutes) we stop."""

    def delay(self, attempt: int, error: TransientError) -> float:
        if error.wait is not None:
            if error.wait > self.max_wait:
                resume = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + error.wait))
                raise ReleaseError(f"{error}; GitHub asks us to wait until {resume}: re-run then") from None
            return max(error.wait, 0.0)
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


def retrying(
    step: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] | None = None,
) -> T:
    """Run `step`, retrying it on `TransientError` up to `policy.attempts` times in all."""
    say = log or _stderr
    for attempt in range(1, policy.attempts + 1):
        try:
            return step()
        except TransientError as error:
            if attempt == policy.attempts:
                raise GitHubError(f"{error} (gave up after {attempt} attempts)", error.status) from None
            delay = policy.delay(attempt, error)
            say(f"{error}; retrying in {delay:.0f}s (attempt {attempt + 1} of {policy.attempts})")
            sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def token_from_env() -> str:
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise ReleaseError("GITHUB_TOKEN is not set: export a token that may write releases (contents: write)")
    return token


def api_url_from_env() -> str:
    return os.environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")


class GitHubClient:
    """Release calls against one API base URL with one token; every call is a single HTTP request."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 120.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "codex-zsh-release",
            }
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        """One request; a status outside `expect` becomes a `GitHubError` or `TransientError`."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.api_url}{url}"
        what = f"{method} {urlsplit(url).path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"GitHub: {what}: {type(exc).__name__}") from None
        if response.status_code in expect:
            return response
        raise _error(what, response)

    def find_release(self, repo: str, tag: str) -> JSON | None:
        """The release for `tag`, draft or not. Drafts are invisible to `releases/tags/{tag}`, so a miss
        there is followed by a scan of the (newest first) release list."""
        response = self.request("GET", f"/repos/{repo}/releases/tags/{quote(tag, safe='')}", expect=(200, 404))
        if response.status_code == 200:
            return _json(response)
        url: str | None = f"{self.api_url}/repos/{repo}/releases?per_page=100"
        for _ in range(MAX_RELEASE_PAGES):
            if url is None:
                break
            response = self.request("GET", url)
            for release in response.json():
                if release.get("tag_name") == tag:
                    found: JSON = release
                    return found
            url = response.links.get("next", {}).get("url")
        return None

    def create_release(self, repo: str, tag: str, *, name: str, body: str, target: str | None) -> JSON:
        payload: JSON = {"tag_name": tag, "name": name, "body": body, "draft": True}
        if target:
            payload["target_commitish"] = target
        return _json(self.request("POST", f"/repos/{repo}/releases", json=payload, expect=(201,)))

    def list_assets(self, repo: str, release_id: int) -> list[JSON]:
        response = self.request("GET", f"/repos/{repo}/releases/{release_id}/assets?per_page=100")
        assets: list[JSON] = response.json()
        return assets

    def upload_asset(self, release: JSON, name: str, data: bytes, content_type: str) -> JSON:
        """Upload to the release's own `upload_url` (a separate host on github.com), as GitHub documents."""
        upload_url = str(release["upload_url"]).split("{", 1)[0]
        response = self.request(
            "POST",
            upload_url,
            params={"name": name},
            data=data,
            headers={"Content-Type": content_type},
            expect=(201,),
        )
        return _json(response)

    def download_asset(self, asset: JSON) -> bytes:
        response = self.request("GET", str(asset["url"]), headers={"Accept": "application/octet-stream"})
        return response.content

    def delete_asset(self, repo: str, asset_id: int) -> None:
        self.request("DELETE", f"/repos/{repo}/releases/assets/{asset_id}", expect=(204, 404))

    def publish_release(self, repo: str, release_id: int) -> JSON:
        return _json(self.request("PATCH", f"/repos/{repo}/releases/{release_id}", json={"draft": False}))


def _json(response: requests.Response) -> JSON:
    body: JSON = response.json()
    return body


def _error(what: str, response: requests.Response) -> GitHubError:
    """Classify a failed response the way GitHub's docs tell clients to."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    reason = body.get("message") if isinstance(body, dict) else None
    errors = body.get("errors", []) if isinstance(body, dict) else []
    codes = tuple(str(e["code"]) for e in errors if isinstance(e, dict) and "code" in e)
    message = f"GitHub: {what} -> {status} {reason or response.reason}"
    if codes:
        message += f" ({', '.join(codes)})"
    headers = response.headers
    if status in (403, 429) and ("retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"):
        if "retry-after" in headers:
            wait = float(headers["retry-after"])
        else:
            wait = float(headers.get("x-ratelimit-reset", time.time())) - time.time() + 1
        return TransientError(message, status, wait)
    if status in (403, 429) and "secondary rate limit" in (reason or "").lower():
        return TransientError(message, status, 60.0)
    if status == 429 or status >= 500:
        return TransientError(message, status)
    return GitHubError(message, status)
