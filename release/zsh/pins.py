"""Pinned source tarballs, read from `source.json` so a version bump is a data change, not a code change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from codex_app_tools.atomic import atomic_write


@dataclass(frozen=True)
class Source:
    """One upstream tarball, identified by its sha256; URLs are only places to look for those bytes."""

    name: str
    version: str
    file: str
    sha256: str
    upstream: tuple[str, ...]
    debian_pool: str
    """Path of the identical orig tarball under a Debian archive root (`pool/main/...`)."""


@dataclass(frozen=True)
class Pins:
    zsh: Source
    ncurses: Source
    source_date_epoch: int
    """Release date of zsh 5.9: the fixed mtime of packaged files unless SOURCE_DATE_EPOCH overrides it."""


def _resource_bytes(name: str) -> bytes:
    return resources.files("release.zsh").joinpath(name).read_bytes()


def load() -> Pins:
    data = json.loads(_resource_bytes("source.json"))
    sources = {
        name: Source(
            name=name,
            version=entry["version"],
            file=entry["file"],
            sha256=entry["sha256"],
            upstream=tuple(entry["upstream"]),
            debian_pool=entry["debian_pool"],
        )
        for name, entry in data["sources"].items()
    }
    return Pins(zsh=sources["zsh"], ncurses=sources["ncurses"], source_date_epoch=data["source_date_epoch"])


def patch_bytes() -> bytes:
    return _resource_bytes("exec-wrapper.patch")


def patch_sha256() -> str:
    return hashlib.sha256(patch_bytes()).hexdigest()


SOURCE_JSON = Path(__file__).with_name("source.json")


def bumped(source: Source, version: str, sha256: str) -> Source:
    """The pin of `version`: the old version string replaced in the file name, URLs and pool path."""

    def swap(text: str) -> str:
        return text.replace(source.version, version)

    return Source(
        name=source.name,
        version=version,
        file=swap(source.file),
        sha256=sha256,
        upstream=tuple(swap(url) for url in source.upstream),
        debian_pool=swap(source.debian_pool),
    )


def write(source: Source, source_date_epoch: int | None = None, path: Path = SOURCE_JSON) -> None:
    """Replace one source's pin in source.json atomically, keeping the file's layout."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["sources"][source.name] = {
        "version": source.version,
        "file": source.file,
        "sha256": source.sha256,
        "upstream": list(source.upstream),
        "debian_pool": source.debian_pool,
    }
    if source_date_epoch is not None:
        data["source_date_epoch"] = source_date_epoch
    atomic_write(path, json.dumps(data, indent=2) + "\n")
