"""Marketplaces added by source (`marketplace/add|remove|upgrade`), recorded as `[marketplaces.<name>]`.

A source is a local marketplace directory (recorded as `source_type = "local"`, read in place) or a git URL
(`http(s)://`, `ssh://`, `git@host:path`, or `owner/repo` for GitHub), cloned with the system git into
`$CODEX_HOME/.tmp/marketplaces/<name>` and recorded as `source_type = "git"`. As upstream 0.163 does,
`file://` URLs are refused as a source format. A clone goes to a staging directory first and only moves
into place once its marketplace file parsed, so a bad repository changes nothing on disk or in config.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_app_tools.atomic import atomic_write
from server.plugins.marketplace import MARKETPLACE_FILE, Marketplace, load_marketplace
from server.protocol.errors import InvalidRequest

GIT_TIMEOUT_SECONDS = 300
BAD_FORMAT = "invalid marketplace source format; expected owner/repo, a git URL, or a local marketplace path"
GIT_URL = re.compile(r"^(https?|ssh|git)://[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$")
GITHUB_SHORTHAND = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Source:
    kind: str
    """`local` or `git`."""
    location: str


def classify(source: str) -> Source:
    text = source.strip()
    if GIT_URL.match(text):
        return Source("git", text)
    if text.startswith(("/", "./", "../", "~")):
        path = Path(os.path.expanduser(text))
        try:
            return Source("local", str(path.resolve(strict=True)))
        except OSError as exc:
            raise InvalidRequest(
                f"failed to resolve local marketplace source path: {exc.strerror} (os error {exc.errno})"
            ) from None
    if GITHUB_SHORTHAND.match(text):
        return Source("git", f"https://github.com/{text}.git")
    raise InvalidRequest(BAD_FORMAT)


def marketplaces_root(codex_home: Path) -> Path:
    return codex_home / ".tmp" / "marketplaces"


def read_root(root: Path) -> Marketplace:
    path = root / MARKETPLACE_FILE
    if not path.is_file():
        raise InvalidRequest(
            f"invalid marketplace file `{root}`: marketplace root does not contain a supported manifest"
        )
    return load_marketplace(path)


def git(*args: str, cwd: Path | None = None) -> str:
    """Run the system git without prompting; a failure is its stderr's last line."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InvalidRequest(f"git {args[0]} failed: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise InvalidRequest(f"git {args[0]} failed: {lines[-1] if lines else f'exit status {done.returncode}'}")
    return done.stdout


@dataclass(frozen=True)
class Added:
    name: str
    root: Path
    already: bool
    record: dict[str, Any] | None
    """The `[marketplaces.<name>]` table to write, or None when it is already there."""


def configured(config_marketplaces: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    entry = config_marketplaces.get(name)
    return entry if isinstance(entry, dict) else None


def add(codex_home: Path, source: Source, ref_name: str | None, existing: Mapping[str, Any]) -> Added:
    if source.kind == "local":
        root = Path(source.location)
        name = read_root(root).name
        same = configured(existing, name) == {"source_type": "local", "source": source.location}
        local_record = None if same else {"source_type": "local", "source": source.location}
        return Added(name, root, same, local_record)
    staging_parent = marketplaces_root(codex_home) / ".staging"
    staging_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="clone-", dir=staging_parent))
    try:
        branch = ["--branch", ref_name] if ref_name else []
        git("clone", "--quiet", *branch, "--", source.location, str(staging / "repo"))
        name = read_root(staging / "repo").name
        target = marketplaces_root(codex_home) / name
        entry = configured(existing, name)
        if entry is not None and entry.get("source") == source.location and target.is_dir():
            return Added(name, target, True, None)
        if target.exists():
            shutil.rmtree(target)
        (staging / "repo").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    record: dict[str, Any] = {"source_type": "git", "source": source.location}
    if ref_name:
        record["ref_name"] = ref_name
    return Added(name, target, False, record)


def installed_root(codex_home: Path, name: str, entry: Mapping[str, Any] | None) -> Path | None:
    """Where a configured marketplace lives: the clone for git, the source itself for local."""
    if entry is None:
        return None
    if entry.get("source_type") == "git":
        return marketplaces_root(codex_home) / name
    source = entry.get("source")
    return Path(source) if isinstance(source, str) else None


def remove(codex_home: Path, name: str, entry: Mapping[str, Any] | None) -> Path | None:
    """Delete a git clone; returns its root (None for a local source, which stays where it is)."""
    clone = marketplaces_root(codex_home) / name
    if (entry is None or entry.get("source_type") == "git") and clone.is_dir():
        shutil.rmtree(clone)
        return clone
    if entry is None:
        raise InvalidRequest(f"marketplace `{name}` is not configured or installed")
    return None


UPGRADED_MARK = Path(".git") / "codex-upgraded-revision"
"""The revision the last upgrade settled on. Upstream reports a fresh clone's first upgrade as an upgrade
even when nothing changed, so "changed" means: differs from this mark, which add does not write."""


def upgrade(root: Path, entry: Mapping[str, Any]) -> bool:
    """Fetch the tracked ref and move the clone to it; True when that is a change since the last upgrade."""
    ref = entry.get("ref_name")
    git("fetch", "--quiet", "origin", *([ref] if isinstance(ref, str) else []), cwd=root)
    after = git("rev-parse", "FETCH_HEAD", cwd=root).strip()
    mark = root / UPGRADED_MARK
    previous = mark.read_text().strip() if mark.is_file() else None
    git("reset", "--quiet", "--hard", after, cwd=root)
    read_root(root)
    atomic_write(mark, after + "\n")
    return after != previous


def configured_files(codex_home: Path, marketplaces: Mapping[str, Any]) -> list[Path]:
    """Marketplace files of every configured marketplace, for plugin/list."""
    files = []
    for name, entry in marketplaces.items():
        root = installed_root(codex_home, name, entry if isinstance(entry, dict) else None)
        if root is not None:
            files.append(root / MARKETPLACE_FILE)
    return files
