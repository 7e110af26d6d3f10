"""Fetch a pinned tarball from an ordered list of mirrors, verify its sha256, and keep a verified cache.

Order: upstream URLs, then the identical orig tarball in the Debian archive pool under every Debian URI the
machine's apt is configured with (build machines without general internet still reach their apt mirror),
then whatever the user passed with `--source`. Bytes are hashed while they stream into a temporary file and
only a file whose hash matches is renamed into the cache (by `codex_app_tools.atomic`), so nothing downstream
ever sees unverified data.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, cast

from codex_app_tools.atomic import atomic_writer
from release.errors import ReleaseError
from release.zsh.pins import Source
from release.zsh.progress import Progress

CHUNK = 1 << 16
TIMEOUT_S = 30
"""Per-connection timeout: long enough for a slow mirror, short enough that a blackholed host only delays
the fallback by seconds."""


def apt_source_uris(root: Path = Path("/")) -> list[str]:
    """Archive URIs from `sources.list`, `sources.list.d/*.list` and deb822 `*.sources`, in apt's order."""
    apt = root / "etc/apt"
    files = [apt / "sources.list"]
    parts = apt / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in {".list", ".sources"})
    uris: list[str] = []
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = _deb822_uris(text) if path.suffix == ".sources" else _one_line_uris(text)
        uris += [u for u in found if u not in uris]
    return uris


def _one_line_uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] not in {"deb", "deb-src"}:
            continue
        rest = words[1:]
        if rest and rest[0].startswith("["):
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if rest:
            uris.append(rest[0])
    return uris


def _deb822_uris(text: str) -> list[str]:
    uris = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if not {"deb", "deb-src"} & set(fields.get("types", "").split()):
            continue
        uris += fields.get("uris", "").split()
    return uris


def mirrors(source: Source, user_source: str | None = None, apt_root: Path = Path("/")) -> list[str]:
    """The ordered list of places to look for `source`; http(s) and file URIs from apt, plus the user's."""
    pool = [
        f"{uri.rstrip('/')}/{source.debian_pool}"
        for uri in apt_source_uris(apt_root)
        if urllib.parse.urlsplit(uri).scheme in {"http", "https", "file"}
    ]
    return [*source.upstream, *pool, *([user_source] if user_source else [])]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(source: Source, candidates: Iterable[str], cache_dir: Path, progress: Progress) -> Path:
    """Return the path of a verified copy of `source` in `cache_dir`, downloading it if needed.

    A location that cannot be reached is skipped; bytes with the wrong hash are a hard error (naming both
    hashes), because a mirror serving different bytes under the pinned name is something to investigate.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / source.file
    if cached.exists():
        actual = sha256_file(cached)
        if actual == source.sha256:
            progress.say(f"{source.file}: using verified cache {cached}")
            return cached
        progress.say(f"{source.file}: cached copy is corrupt (sha256 {actual}); fetching again")
        cached.unlink(missing_ok=True)
    tried = []
    for location in candidates:
        try:
            # An exception inside the block (unreachable, short read, wrong hash) leaves no file behind.
            with atomic_writer(cached) as out:
                actual = _download(location, out, source.file, progress)
                if actual != source.sha256:
                    raise ReleaseError(
                        f"sha256 mismatch for {source.file} from {location}: expected {source.sha256}, got {actual}"
                    )
            return cached
        except _Unavailable as exc:
            progress.say(f"{source.file}: {location} unavailable: {exc}")
            tried.append(location)
    raise ReleaseError(
        f"could not fetch {source.file} from any of {len(tried)} locations "
        f"({', '.join(tried) or 'none configured'}); pass --source URL|PATH"
    )


def hash_first_available(candidates: Iterable[str], label: str, progress: Progress) -> tuple[str, str]:
    """Download from the first location that answers and return (location, sha256), keeping nothing.

    Only for recording a new pin (`zsh bump`), where there is no expected hash yet: the bytes are hashed as
    they stream and never written to disk.
    """
    tried = []
    for location in candidates:
        try:
            with open(os.devnull, "wb") as discard:
                return location, _download(location, discard, label, progress)
        except _Unavailable as exc:
            progress.say(f"{label}: {location} unavailable: {exc}")
            tried.append(location)
    raise ReleaseError(f"could not fetch {label} from any of {len(tried)} locations; pass --sha256 or --source")


class _Unavailable(Exception):
    """This location did not deliver the file; the next one may."""


def _open(location: str) -> tuple[BinaryIO, int | None]:
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme in {"http", "https", "file"}:
        try:
            response = urllib.request.urlopen(location, timeout=TIMEOUT_S)  # noqa: S310 (scheme checked)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise _Unavailable(getattr(exc, "reason", None) or exc) from exc
        length = response.headers.get("Content-Length")
        return cast(BinaryIO, response), int(length) if length and length.isdigit() else None
    path = Path(location).expanduser()
    try:
        return path.open("rb"), path.stat().st_size
    except OSError as exc:
        raise _Unavailable(exc.strerror or exc) from exc


def _download(location: str, out: BinaryIO, label: str, progress: Progress) -> str:
    """Stream `location` into `out`, reporting progress; returns the sha256 of what was written."""
    stream, total = _open(location)
    digest = hashlib.sha256()
    done = 0
    next_report = 0.25
    progress.say(f"{label}: fetching {location}")
    with stream as src:
        while True:
            try:
                chunk = src.read(CHUNK)
            except OSError as exc:
                raise _Unavailable(f"read failed after {done} bytes: {exc}") from exc
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
            done += len(chunk)
            if total and done / total >= next_report:
                progress.say(f"{label}: {done * 100 // total:3d}% of {total / 1e6:.1f} MB")
                next_report += 0.25
    return digest.hexdigest()
