"""Remote plugin bundles: an https `.tar.gz` the backend points at, unpacked into the plugin cache.

The archive comes from outside, so it is handled as hostile: only https URLs (plain http is refused as
upstream refuses it; TLS trust comes from `CODEX_CA_CERTIFICATE` or `SSL_CERT_FILE` when set, as
upstream honours them), a bounded download, and an unpack that accepts only regular files and
directories whose paths stay inside the extraction root, with bounds on the entry count and the unpacked
size. Unpacking goes to a staging directory under `plugins/`; only `commit()` moves it into
`cache/<marketplace>/<plugin>/<version>`, after the caller's remote change succeeded, so a refused bundle or
a failed backend call leaves the cache exactly as it was.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from codex_app_tools.atomic import atomic_write, fsync_directory
from server.plugins.remote import read_at_most

MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_ENTRIES = 10_000
TIMEOUT_SECONDS = 60
STAGING_DIR = ".remote-plugin-install-staging"
INSTALL_MARKER = ".codex-remote-plugin-install.json"
CA_ENV = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE")


class BundleError(Exception):
    """A bundle we refuse; `str()` is upstream's wording without the `install remote plugin bundle:` prefix."""


@dataclass(frozen=True)
class Plan:
    remote_id: str
    plugin_name: str
    version: str
    url: str


def plan(remote_id: str, plugin_name: str, version: object, url: object) -> Plan:
    """Check what the backend returned before anything is downloaded."""
    if not isinstance(version, str) or not version.strip():
        raise BundleError(f"backend did not return a release version for remote plugin `{remote_id}`")
    version = version.strip()
    if version in (".", "..") or "/" in version or "\\" in version:
        raise BundleError(f"backend returned an invalid release version for remote plugin `{remote_id}`: {version}")
    if not isinstance(url, str) or not url.strip():
        raise BundleError(f"backend did not return a download URL for remote plugin `{remote_id}`")
    url = url.strip()
    scheme = urlsplit(url).scheme
    if not scheme:
        raise BundleError(f"backend returned an invalid download URL for remote plugin `{remote_id}`: {url}")
    if scheme != "https":
        raise BundleError(
            f"backend returned an unsupported download URL scheme for remote plugin `{remote_id}`: {scheme}"
        )
    return Plan(remote_id, plugin_name, version, url)


def trust_store(environ: Mapping[str, str]) -> str | bool:
    """The CA bundle to verify the download against: the configured one, else the system's."""
    for name in CA_ENV:
        path = environ.get(name)
        if path:
            return path
    return True


def download(bundle: Plan, environ: Mapping[str, str]) -> bytes:
    import requests  # only here, as in server.plugins.remote

    try:
        with requests.get(bundle.url, timeout=TIMEOUT_SECONDS, stream=True, verify=trust_store(environ)) as response:
            body = read_at_most(response, MAX_DOWNLOAD_BYTES)
            if body is None:
                raise BundleError(f"remote plugin bundle from {bundle.url} exceeds {MAX_DOWNLOAD_BYTES} bytes")
    except requests.RequestException:
        raise BundleError(
            f"failed to send remote plugin bundle download request to {bundle.url}: "
            f"error sending request for url ({bundle.url})"
        ) from None
    if not 200 <= response.status_code < 300:
        raise BundleError(
            f"remote plugin bundle download from {bundle.url} failed with status "
            f"{response.status_code} {response.reason}: {body.decode('utf-8', errors='replace')}"
        )
    return body


def safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise BundleError(f"plugin bundle tar entry `{name}` escapes extraction root")
    return PurePosixPath(*[part for part in path.parts if part != "."])


def unpack(data: bytes, destination: Path) -> None:
    """Unpack regular files and directories only, every path checked, sizes bounded."""
    unpacked = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_ENTRIES:
                    raise BundleError(f"remote plugin bundle has more than {MAX_ENTRIES} entries")
                relative = safe_member_path(member.name)
                if member.issym() or member.islnk():
                    raise BundleError(f"remote plugin bundle tar entry `{member.name}` is a link")
                target = destination.joinpath(*relative.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise BundleError(f"remote plugin bundle tar entry `{member.name}` has unsupported type")
                unpacked += member.size
                if unpacked > MAX_UNPACKED_BYTES:
                    raise BundleError(f"remote plugin bundle unpacks to more than {MAX_UNPACKED_BYTES} bytes")
                source = archive.extractfile(member)
                if source is None:
                    raise BundleError(f"remote plugin bundle tar entry `{member.name}` cannot be read")
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(target, source.read(), mode=0o755 if member.mode & 0o111 else 0o644, durable=False)
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise BundleError(f"failed to read remote plugin bundle: {exc}") from None


def stage(codex_home: Path, data: bytes) -> Path:
    """Unpack into a fresh staging directory; returns the plugin root inside it (or raises, leaving nothing)."""
    staging_root = codex_home / "plugins" / STAGING_DIR
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="remote-plugin-bundle-", dir=staging_root))
    try:
        unpack(data, staging)
        if not (staging / ".codex-plugin" / "plugin.json").is_file():
            raise BundleError("remote plugin bundle did not contain a standard plugin root with plugin.json")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def discard(staged: Path) -> None:
    shutil.rmtree(staged, ignore_errors=True)


def plugin_dir(codex_home: Path, marketplace: str, plugin_name: str) -> Path:
    return codex_home / "plugins" / "cache" / marketplace / plugin_name


def commit(codex_home: Path, marketplace: str, bundle: Plan, staged: Path) -> Path:
    """Move the staged plugin into the cache (replacing older versions) and record its remote id."""
    directory = plugin_dir(codex_home, marketplace, bundle.plugin_name)
    directory.parent.mkdir(parents=True, exist_ok=True)
    replacement = Path(tempfile.mkdtemp(prefix=f".{bundle.plugin_name}.", dir=directory.parent))
    try:
        staged.rename(replacement / bundle.version)
        marker = {"schema_version": 1, "remote_plugin_id": bundle.remote_id}
        atomic_write(replacement / INSTALL_MARKER, json.dumps(marker, indent=2) + "\n")
        fsync_directory(replacement)
        previous = directory.with_name(f".{bundle.plugin_name}.previous-{os.getpid()}")
        if directory.exists():
            directory.rename(previous)
        replacement.rename(directory)
        fsync_directory(directory.parent)
        shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(replacement, ignore_errors=True)
        raise
    return directory / bundle.version


def remove(codex_home: Path, marketplace: str, plugin_name: str) -> None:
    shutil.rmtree(plugin_dir(codex_home, marketplace, plugin_name), ignore_errors=True)


def cached_version(codex_home: Path, marketplace: str, plugin_name: str) -> str | None:
    directory = plugin_dir(codex_home, marketplace, plugin_name)
    try:
        versions = sorted(child.name for child in directory.iterdir() if child.is_dir())
    except OSError:
        return None
    return versions[-1] if versions else None
