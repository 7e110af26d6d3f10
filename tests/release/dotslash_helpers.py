"""Shared pieces of the DotSlash, publish and fixture tests: synthetic artifacts, a loopback file server,
and the real dotslash binary run in isolation."""

from __future__ import annotations

import functools
import http.server
import io
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from release import dotslash, targets


def make_archive(path: Path, script: str = '#!/bin/sh\necho synthetic zsh "$@"\n') -> Path:
    """A small tar.gz laid out like the real package: `codex-zsh/bin/zsh`, executable."""
    data = script.encode()
    with tarfile.open(path, "w:gz") as tar:
        for name in ("codex-zsh", "codex-zsh/bin"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        info = tarfile.TarInfo("codex-zsh/bin/zsh")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return path


def make_artifacts(directory: Path, triples: list[str] | None = None) -> Path:
    """One synthetic archive per target (each with different bytes, so digests differ per platform)."""
    directory.mkdir(parents=True, exist_ok=True)
    for triple in triples or [t.triple for t in targets.TARGETS]:
        make_archive(directory / targets.get(triple).asset_name, f'#!/bin/sh\necho synthetic {triple} "$@"\n')
    return directory


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request lines; the tests assert on dotslash's behaviour, not on this log."""


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` over HTTP on 127.0.0.1 with an OS-chosen port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_dotslash(
    file: Path, *args: str, cache: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Execute a DotSlash file with the real dotslash, an isolated cache and no proxies (loopback only)."""
    clean = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    clean.update({"DOTSLASH_CACHE": str(cache), "NO_PROXY": "127.0.0.1,localhost", **(env or {})})
    return subprocess.run(
        [dotslash.dotslash_binary(), str(file), *args],
        capture_output=True,
        text=True,
        env=clean,
        timeout=120,
        check=False,
    )


def dotslash_tool(*args: str) -> str:
    """One of dotslash's own helper commands (`b3sum`, `sha256`, `parse`), as an independent oracle."""
    proc = subprocess.run(
        [dotslash.dotslash_binary(), "--", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return proc.stdout.strip()
