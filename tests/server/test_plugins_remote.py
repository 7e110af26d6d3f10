"""The remote catalogue client and the bundle unpacker, against the backend stand-in; product filtering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.plugin_backend import Failure, PluginBackend, plugin_bundle, remote_plugin, tar_gz
from server.plugins import bundle
from server.plugins.catalog import offered_to
from server.plugins.login import Credentials, credentials
from server.plugins.manifest import read_manifest
from server.plugins.marketplace import Entry
from server.plugins.remote import AUTH_REQUIRED, CatalogError, RemoteCatalog, read_at_most

LOGIN = Credentials("secret-token", "acct-1")


def test_calls_carry_the_chatgpt_credentials() -> None:
    with PluginBackend() as backend:
        backend.add(remote_plugin("plugins~a", "a"), installed=True)
        catalog = RemoteCatalog(backend.base_url, LOGIN)
        assert [item["id"] for item in catalog.installed()] == ["plugins~a"]
        catalog.change("plugins~a", "uninstall")
        assert [(request.line, request.authorized) for request in backend.requests] == [
            ("GET /backend-api/ps/plugins/installed?limit=200", True),
            ("POST /backend-api/ps/plugins/plugins~a/uninstall", True),
        ]
        assert backend.installed == {}


def test_without_a_chatgpt_login_nothing_is_sent(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text(json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-x"}))
    assert credentials(tmp_path) is None
    with PluginBackend() as backend:
        with pytest.raises(CatalogError, match=AUTH_REQUIRED):
            RemoteCatalog(backend.base_url, None).installed()
        assert backend.requests == []


def test_errors_name_the_request_but_never_the_token() -> None:
    with PluginBackend() as backend:
        backend.fail("installed", Failure(502, "bad gateway upstream"))
        with pytest.raises(CatalogError) as excinfo:
            RemoteCatalog(backend.base_url, LOGIN).installed()
    message = str(excinfo.value)
    assert message == (
        f"remote plugin catalog request to {backend.base_url}/ps/plugins/installed?limit=200 failed with status "
        "502 Bad Gateway: bad gateway upstream"
    )
    assert "secret-token" not in message


def test_a_mutation_answering_another_id_is_an_error() -> None:
    with PluginBackend() as backend:
        backend.fail("install", Failure(200, '{"id": "plugins~other", "enabled": true}'))
        with pytest.raises(CatalogError, match="expected `plugins~a`, got `plugins~other`"):
            RemoteCatalog(backend.base_url, LOGIN).change("plugins~a", "install")


@pytest.mark.parametrize(
    ("version", "url", "message"),
    [
        (None, "https://h/b.tar.gz", "did not return a release version"),
        ("../1", "https://h/b.tar.gz", "invalid release version"),
        ("1.0.0", None, "did not return a download URL"),
        ("1.0.0", "ftp://h/b.tar.gz", "unsupported download URL scheme for remote plugin `r`: ftp"),
        ("1.0.0", "http://127.0.0.1/b.tar.gz", "unsupported download URL scheme for remote plugin `r`: http"),
    ],
)
def test_plan_refuses_what_it_cannot_fetch_safely(version: str | None, url: str | None, message: str) -> None:
    with pytest.raises(bundle.BundleError, match=message.replace("(", r"\(")):
        bundle.plan("r", "p", version, url)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (tar_gz({"/etc/evil": "x"}), "`/etc/evil` escapes extraction root"),
        (tar_gz({"a/../../evil": "x"}), "escapes extraction root"),
        (tar_gz({}, links={"link": "/etc/passwd"}), "`link` is a link"),
        (b"not a tarball", "failed to read remote plugin bundle"),
        (plugin_bundle("p", root="nested"), "did not contain a standard plugin root"),
    ],
)
def test_stage_refuses_hostile_bundles_and_leaves_no_staging(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(bundle.BundleError, match=message):
        bundle.stage(tmp_path, data)
    assert list((tmp_path / "plugins" / bundle.STAGING_DIR).iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_stage_bounds_the_unpacked_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "MAX_UNPACKED_BYTES", 10)
    with pytest.raises(bundle.BundleError, match="unpacks to more than 10 bytes"):
        bundle.stage(tmp_path, plugin_bundle("p"))


def test_commit_replaces_the_old_version_and_records_the_remote_id(tmp_path: Path) -> None:
    for version in ("1.0.0", "2.0.0"):
        plan = bundle.plan("plugins~p", "p", version, "https://h/p.tar.gz")
        bundle.commit(tmp_path, "mp", plan, bundle.stage(tmp_path, plugin_bundle("p", version)))
    directory = bundle.plugin_dir(tmp_path, "mp", "p")
    assert sorted(child.name for child in directory.iterdir()) == [bundle.INSTALL_MARKER, "2.0.0"]
    assert bundle.cached_version(tmp_path, "mp", "p") == "2.0.0"
    assert sorted(child.name for child in directory.parent.iterdir()) == ["p"]


@pytest.mark.parametrize(
    ("products", "product", "offered"),
    [
        ((), "codex", True),
        (("codex",), "codex", True),
        (("chatgpt",), "codex", False),
        (("chatgpt", "atlas"), "atlas", True),
    ],
)
def test_products_filter_by_session_source(products: tuple[str, ...], product: str, offered: bool) -> None:
    entry = Entry(name="p", path=Path("/p"), products=products)
    assert offered_to(entry, product) is offered


def test_skills_naming_other_products_are_hidden(tmp_path: Path) -> None:
    for name, products in (("everywhere", None), ("codex-only", ["codex"]), ("chatgpt-only", ["chatgpt"])):
        skill = tmp_path / "skills" / name
        skill.mkdir(parents=True)
        extra = f"products: {json.dumps(products)}\n" if products else ""
        (skill / "SKILL.md").write_text(f"---\nname: {name}\ndescription: d\n{extra}---\n")
    names = [skill["name"] for skill in read_manifest(tmp_path).skills("p", "codex")]
    assert names == ["p:codex-only", "p:everywhere"]


def test_listings_follow_the_page_token() -> None:
    with PluginBackend() as backend:
        for index in range(5):
            backend.add(remote_plugin(f"plugins~p{index}", f"p{index}"), installed=True)
        backend.state.page_size = 2
        items = RemoteCatalog(backend.base_url, LOGIN).installed()
        assert [item["id"] for item in items] == [f"plugins~p{index}" for index in range(5)]
        assert backend.calls() == [
            "GET /backend-api/ps/plugins/installed?limit=200",
            "GET /backend-api/ps/plugins/installed?limit=200&pageToken=2",
            "GET /backend-api/ps/plugins/installed?limit=200&pageToken=4",
        ]


def test_a_mutation_answering_the_wrong_state_is_an_error() -> None:
    with PluginBackend() as backend:
        backend.fail("uninstall", Failure(200, '{"id": "plugins~a", "enabled": true}'))
        with pytest.raises(CatalogError) as excinfo:
            RemoteCatalog(backend.base_url, LOGIN).change("plugins~a", "uninstall")
    assert str(excinfo.value) == (
        "remote plugin mutation returned unexpected enabled state for `plugins~a`: expected false, got true"
    )


class _StreamedResponse:
    """What `read_at_most` reads of a `requests` response: its body in chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self.pulled = 0

    def iter_content(self, chunk_size: int) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.pulled += 1
            yield chunk


def test_a_body_within_the_limit_is_read_whole() -> None:
    assert read_at_most(_StreamedResponse([b"ab", b"cd"]), 4) == b"abcd"


def test_a_body_past_the_limit_is_refused_without_reading_the_rest() -> None:
    response = _StreamedResponse([b"ab", b"cde", b"never read"])
    assert read_at_most(response, 4) is None
    assert response.pulled == 2
