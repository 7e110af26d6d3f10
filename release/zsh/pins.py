"""Pinned source tarballs, read from `source.json` so a version bump is a data change, not a code change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources


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
