"""Publish the packaged artifacts as a GitHub release, with their checksums and the DotSlash file.

Publishing is a reconcile, not a script: look at what the release already holds, then do only what is
missing. That makes a re-run after any failure safe (an asset with the same digest is skipped), lets the
retry loop repeat a whole step when GitHub answers a write with a 5xx (the write may or may not have
happened), and keeps the release a draft until every asset is up, so users never see half a release.

`--dry-run` builds the same plan (targets, assets, digests, URLs, the DotSlash file) without any network;
it is what release engineers read before they publish.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from release import dotslash, targets
from release.errors import ReleaseError
from release.github import JSON, GitHubClient, GitHubError, RetryPolicy, api_url_from_env, retrying, token_from_env

Kind = Literal["archive", "checksum", "dotslash"]
Action = Literal["upload", "skip", "replace", "conflict"]
CONTENT_TYPES: dict[Kind, str] = {
    "archive": "application/gzip",
    "checksum": "text/plain; charset=utf-8",
    "dotslash": "text/plain; charset=utf-8",
}
# Placeholders shown by a dry run that was not told the repository or tag; a real publish refuses them.
PLACEHOLDER_REPO = "OWNER/REPO"
PLACEHOLDER_TAG = "TAG"


@dataclass(frozen=True)
class Upload:
    """One file of the release, held in memory: what is hashed is exactly what is uploaded."""

    name: str
    kind: Kind
    data: bytes
    sha256: str
    platform: str | None = None

    @classmethod
    def of(cls, name: str, kind: Kind, data: bytes, platform: str | None = None) -> Upload:
        return cls(name, kind, data, hashlib.sha256(data).hexdigest(), platform)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


@dataclass(frozen=True)
class Plan:
    """Everything a publish would do, computed without the network."""

    repo: str
    tag: str
    providers: dotslash.Providers
    assets: list[dotslash.Asset]
    uploads: list[Upload]
    problems: list[str] = field(default_factory=list)

    @property
    def has_placeholders(self) -> bool:
        return self.repo == PLACEHOLDER_REPO or self.tag == PLACEHOLDER_TAG

    @property
    def dotslash_text(self) -> str:
        return next(u.data.decode() for u in self.uploads if u.kind == "dotslash")

    def render(self, api_url: str) -> str:
        """The human-readable plan; every digest and URL a reviewer may want to check."""
        by_platform = {a.platform: a for a in self.assets}
        lines = [f"release {self.tag} on {self.repo} (GitHub API {api_url})"]
        if self.has_placeholders:
            lines.append("  (placeholders: pass --repo OWNER/REPO and --tag TAG for the real values)")
        lines.append("targets:")
        for t in targets.TARGETS:
            asset = by_platform.get(t.dotslash_platform)
            lines.append(f"  {t.triple:<28} {t.dotslash_platform:<14} {t.runner:<13} {asset.name if asset else '-'}")
        lines.append("assets (uploaded in this order; the release stays a draft until the last one is up):")
        for upload in self.uploads:
            lines.append(f"  {upload.name}  ({len(upload.data)} bytes, {upload.kind})")
            lines.append(f"    sha256 {upload.sha256}")
            asset = by_platform.get(upload.platform or "")
            if asset is not None and upload.kind == "archive":
                lines.append(f"    blake3 {asset.blake3}")
            lines.append(f"    {self.providers.url(upload.name)}")
        lines.append(f"DotSlash file ({dotslash.OUTPUT_NAME}):")
        lines += [f"  {line}" if line else "" for line in self.dotslash_text.splitlines()]
        if self.problems:
            lines.append("problems:")
            lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def build_plan(
    config: Path,
    artifacts: Path,
    repo: str,
    tag: str,
    *,
    algorithm: dotslash.HashAlgorithm = "blake3",
    allow_problems: bool = False,
) -> Plan:
    """Match, hash and check every artifact and generate the DotSlash file; no network.

    With `allow_problems` (dry runs), missing or ambiguous platforms are listed in the plan instead of
    stopping it, so one run shows everything that needs fixing.
    """
    output = dotslash.find_output(dotslash.load_config(config), None)
    found, problems = dotslash.match_assets(output, artifacts)
    if problems and not allow_problems:
        raise ReleaseError("; ".join(problems))
    assets = dotslash.describe_matches(output, found)
    providers = dotslash.Providers(github_repo=repo, tag=tag)
    archives, checksums = [], []
    for asset in assets:
        archive = Upload.of(asset.name, "archive", asset.file.read_bytes(), asset.platform)
        if archive.sha256 != asset.sha256:
            raise ReleaseError(f"{asset.file} changed while it was being hashed; is a build still writing it?")
        archives.append(archive)
        problems += _check_sidecar(asset)
        checksums.append(Upload.of(f"{asset.name}.sha256", "checksum", f"{asset.sha256}  {asset.name}\n".encode()))
    # The file ships; a broken one would break every user, so it is parsed by dotslash even in a dry run.
    text = dotslash.render(output.name, assets, providers, algorithm)
    dotslash.check_text(text)
    uploads = [*archives, *checksums, Upload.of(output.name, "dotslash", text.encode())]
    if problems and not allow_problems:
        raise ReleaseError("; ".join(problems))
    return Plan(repo, tag, providers, assets, uploads, problems)


def _check_sidecar(asset: dotslash.Asset) -> list[str]:
    """A `.sha256` written by the build must agree with the bytes we are about to publish."""
    sidecar = asset.file.with_name(f"{asset.name}.sha256")
    if not sidecar.is_file():
        return []
    recorded = sidecar.read_text(encoding="utf-8").split()
    if not recorded or recorded[0].lower() != asset.sha256:
        return [f"platform {asset.platform}: {sidecar.name} does not match {asset.name} (stale build output?)"]
    return []


def decide(existing: JSON | None, upload: Upload, remote_sha256: str | None, *, replace: bool) -> Action:
    """What to do with one asset, given what the release holds under its name."""
    if existing is None:
        return "upload"
    if existing.get("state") != "uploaded":
        return "replace"  # a half-made asset left by an upload that died: never what anyone wants to keep
    if remote_sha256 == upload.sha256:
        return "skip"
    return "replace" if replace else "conflict"


def remote_sha256(client: GitHubClient, asset: JSON) -> str | None:
    """The digest GitHub reports for an asset, or (older GitHub Enterprise: no digest) of its download."""
    if asset.get("state") != "uploaded":
        return None
    digest = asset.get("digest")
    if isinstance(digest, str) and digest.startswith("sha256:"):
        return digest.removeprefix("sha256:")
    return hashlib.sha256(client.download_asset(asset)).hexdigest()


class Publisher:
    """One publish of a plan; `run()` is the reconcile step, repeated by the retry loop on 5xx/rate limits."""

    def __init__(
        self,
        plan: Plan,
        client: GitHubClient,
        *,
        replace: bool = False,
        notes: str = "",
        target: str | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.client = client
        self.replace = replace
        self.notes = notes
        self.target = target
        self.say = log or (lambda line: print(line, flush=True))
        self.release: JSON | None = None
        """The release as last seen, for the error message when a run gives up."""

    def run(self) -> JSON:
        repo, tag = self.plan.repo, self.plan.tag
        release = self.client.find_release(repo, tag)
        if release is None:
            release = self.client.create_release(repo, tag, name=tag, body=self.notes, target=self.target)
            self.say(f"created draft release {tag} (id {release['id']})")
        else:
            self.say(f"found {'draft' if release['draft'] else 'published'} release {tag} (id {release['id']})")
        self.release = release
        existing = {a["name"]: a for a in self.client.list_assets(repo, release["id"])}
        actions = [
            (u, decide(existing.get(u.name), u, self._remote(existing.get(u.name)), replace=self.replace))
            for u in self.plan.uploads
        ]
        conflicts = [u.name for u, action in actions if action == "conflict"]
        if conflicts:
            raise ReleaseError(
                f"release {tag} already has different {', '.join(conflicts)}; "
                "pass --replace to overwrite (users may have cached the old bytes)"
            )
        for upload, action in actions:
            self._apply(release, existing.get(upload.name), upload, action)
        if release["draft"]:
            release = self.client.publish_release(repo, release["id"])
            self.say(f"published {release['html_url']}")
        else:
            self.say(f"release {tag} was already published: {release['html_url']}")
        return release

    def _remote(self, asset: JSON | None) -> str | None:
        return None if asset is None else remote_sha256(self.client, asset)

    def _apply(self, release: JSON, existing: JSON | None, upload: Upload, action: Action) -> None:
        if action == "skip":
            self.say(f"  {upload.name}: already there, same sha256, skipped")
            return
        if action == "replace" and existing is not None:
            self.client.delete_asset(self.plan.repo, existing["id"])
            self.say(f"  {upload.name}: deleted the old asset")
        self.say(f"  {upload.name}: uploading {len(upload.data)} bytes")
        self.client.upload_asset(release, upload.name, upload.data, upload.content_type)


def publish(
    plan: Plan,
    client: GitHubClient,
    *,
    replace: bool = False,
    notes: str = "",
    target: str | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] | None = None,
) -> JSON:
    """Reconcile the release with the plan, retrying the whole step on transient failures."""
    if plan.has_placeholders:
        raise ReleaseError("publishing needs --repo OWNER/REPO and --tag TAG")
    publisher = Publisher(plan, client, replace=replace, notes=notes, target=target, log=log)
    try:
        return retrying(publisher.run, policy or RetryPolicy(), sleep=sleep, log=log)
    except GitHubError as exc:
        if publisher.release is not None and publisher.release["draft"]:
            raise ReleaseError(f"{exc}; release {plan.tag} is left a draft: re-run to resume") from None
        raise


def _cmd_publish(args: argparse.Namespace) -> int:
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY") or (PLACEHOLDER_REPO if args.dry_run else None)
    if repo is None:
        raise ReleaseError("pass --repo OWNER/REPO (or set GITHUB_REPOSITORY)")
    tag = args.tag or (PLACEHOLDER_TAG if args.dry_run else None)
    if tag is None:
        raise ReleaseError("pass --tag TAG (the release tag, e.g. zsh-v5.9-1)")
    token = None if args.dry_run else token_from_env()
    plan = build_plan(args.config, args.artifacts, repo, tag, algorithm=args.hash, allow_problems=args.dry_run)
    if args.dotslash_out is not None and not plan.problems:
        dotslash.write_checked(args.dotslash_out, plan.dotslash_text)
        print(f"wrote {args.dotslash_out}", file=sys.stderr)
    api_url = api_url_from_env()
    if token is None:
        print(plan.render(api_url))
        if plan.problems:
            raise ReleaseError(f"the plan has {len(plan.problems)} problem(s), listed above")
        print("dry run: nothing was sent to GitHub")
        return 0
    with GitHubClient(api_url, token) as client:
        publish(plan, client, replace=args.replace, notes=args.notes, target=args.target)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="publish the artifacts, checksums and DotSlash file as a GitHub release",
        description=(
            "Create or resume the GitHub release for TAG (a draft until every asset is up), upload each "
            "archive, its .sha256 and the DotSlash file, then publish it. Re-runs skip what is already there. "
            "Token from GITHUB_TOKEN; API base from GITHUB_API_URL."
        ),
    )
    parser.add_argument("--repo", metavar="OWNER/REPO", help="repository (default: $GITHUB_REPOSITORY)")
    parser.add_argument("--tag", help="release tag, e.g. zsh-v5.9-1")
    parser.add_argument("--artifacts", type=Path, required=True, help="directory holding the packaged archives")
    parser.add_argument(
        "--config", type=Path, default=dotslash.DEFAULT_CONFIG, help="publish config (default: %(default)s)"
    )
    parser.add_argument(
        "--hash", choices=dotslash.HASHES, default="blake3", help="DotSlash digest (default: %(default)s)"
    )
    parser.add_argument("--dotslash-out", type=Path, metavar="FILE", help="also write the DotSlash file here")
    parser.add_argument("--replace", action="store_true", help="overwrite assets whose bytes differ")
    parser.add_argument("--target", metavar="COMMITISH", help="commit for a tag that does not exist yet")
    parser.add_argument("--notes", default="", help="release notes for a newly created release")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; touch no network")
    parser.set_defaults(run=_cmd_publish)
