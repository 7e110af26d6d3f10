"""Fetching pinned sources: mirror order and fallback over loopback HTTP, hash verification before anything
is kept, the verified cache, and the Debian pool URLs derived from apt's configuration."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from release.errors import ReleaseError
from release.zsh import fetch, pins
from release.zsh.pins import Source
from release.zsh.progress import Progress

PAYLOAD = b"pretend this is zsh-5.9.tar.xz\n" * 1000


def source(data: bytes = PAYLOAD) -> Source:
    return Source(
        name="zsh",
        version="5.9",
        file="zsh-5.9.tar.xz",
        sha256=hashlib.sha256(data).hexdigest(),
        upstream=(),
        debian_pool="pool/main/z/zsh/zsh_5.9.orig.tar.xz",
    )


class Files(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[Files]]]:
    handler = type("Handler", (Files,), {"files": {}, "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/zsh-5.9.tar.xz"


def quiet() -> Progress:
    return Progress("test", io.StringIO())


def test_falls_back_to_the_next_mirror_when_the_first_is_down(server: tuple[str, type[Files]], tmp_path: Path) -> None:
    base, handler = server
    handler.files["/good/zsh-5.9.tar.xz"] = PAYLOAD
    got = fetch.fetch(source(), [closed_port_url(), f"{base}/good/zsh-5.9.tar.xz"], tmp_path, quiet())
    assert got.read_bytes() == PAYLOAD


def test_falls_back_past_a_404(server: tuple[str, type[Files]], tmp_path: Path) -> None:
    base, handler = server
    handler.files["/second/zsh-5.9.tar.xz"] = PAYLOAD
    fetch.fetch(source(), [f"{base}/first/zsh-5.9.tar.xz", f"{base}/second/zsh-5.9.tar.xz"], tmp_path, quiet())
    assert handler.hits == ["/first/zsh-5.9.tar.xz", "/second/zsh-5.9.tar.xz"]


def test_wrong_hash_is_an_error_naming_both_hashes_and_keeps_nothing(
    server: tuple[str, type[Files]], tmp_path: Path
) -> None:
    base, handler = server
    handler.files["/evil/zsh-5.9.tar.xz"] = b"not zsh"
    handler.files["/good/zsh-5.9.tar.xz"] = PAYLOAD
    with pytest.raises(ReleaseError) as error:
        fetch.fetch(source(), [f"{base}/evil/zsh-5.9.tar.xz", f"{base}/good/zsh-5.9.tar.xz"], tmp_path, quiet())
    assert source().sha256 in str(error.value)
    assert hashlib.sha256(b"not zsh").hexdigest() in str(error.value)
    assert list(tmp_path.iterdir()) == []
    assert handler.hits == ["/evil/zsh-5.9.tar.xz"]


def test_no_reachable_mirror_is_a_one_line_error_suggesting_source(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="pass --source") as error:
        fetch.fetch(source(), [closed_port_url(), str(tmp_path / "missing.tar.xz")], tmp_path / "cache", quiet())
    assert "\n" not in str(error.value)


def test_local_path_source_is_accepted(tmp_path: Path) -> None:
    local = tmp_path / "zsh-5.9.tar.xz"
    local.write_bytes(PAYLOAD)
    assert fetch.fetch(source(), [str(local)], tmp_path / "cache", quiet()).read_bytes() == PAYLOAD


def test_verified_cache_is_reused_without_network(server: tuple[str, type[Files]], tmp_path: Path) -> None:
    base, handler = server
    handler.files["/m/zsh-5.9.tar.xz"] = PAYLOAD
    url = f"{base}/m/zsh-5.9.tar.xz"
    fetch.fetch(source(), [url], tmp_path, quiet())
    fetch.fetch(source(), [url], tmp_path, quiet())
    assert handler.hits == ["/m/zsh-5.9.tar.xz"]


def test_corrupt_cache_entry_is_fetched_again(server: tuple[str, type[Files]], tmp_path: Path) -> None:
    base, handler = server
    handler.files["/m/zsh-5.9.tar.xz"] = PAYLOAD
    (tmp_path / "zsh-5.9.tar.xz").write_bytes(PAYLOAD[:-1])
    got = fetch.fetch(source(), [f"{base}/m/zsh-5.9.tar.xz"], tmp_path, quiet())
    assert got.read_bytes() == PAYLOAD
    assert handler.hits == ["/m/zsh-5.9.tar.xz"]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_apt_uris_come_from_one_line_and_deb822_files_in_order(tmp_path: Path) -> None:
    write(
        tmp_path / "etc/apt/sources.list",
        "# comment\ndeb [arch=amd64 trusted=yes] http://one.example/debian bookworm main\n",
    )
    write(
        tmp_path / "etc/apt/sources.list.d/debian.sources",
        "Types: deb\nURIs: http://two.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://off.example/debian\nEnabled: no\n\n"
        "Types: deb-src\nURIs: http://three.example/debian/\n",
    )
    write(tmp_path / "etc/apt/sources.list.d/other.list", "deb http://one.example/debian bookworm contrib\n")
    write(tmp_path / "etc/apt/sources.list.d/ignored.list.disabled", "deb http://never.example/debian x y\n")
    assert fetch.apt_source_uris(tmp_path) == [
        "http://one.example/debian",
        "http://two.example/debian",
        "http://three.example/debian/",
    ]


def test_mirror_order_is_upstream_then_debian_pool_then_user_source(tmp_path: Path) -> None:
    write(tmp_path / "etc/apt/sources.list.d/debian.sources", "Types: deb\nURIs: http://mirror.example/debian/\n")
    zsh = pins.load().zsh
    assert fetch.mirrors(zsh, "/tmp/mine.tar.xz", apt_root=tmp_path) == [
        *zsh.upstream,
        "http://mirror.example/debian/pool/main/z/zsh/zsh_5.9.orig.tar.xz",
        "/tmp/mine.tar.xz",
    ]
