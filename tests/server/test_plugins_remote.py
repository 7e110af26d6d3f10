"""Remote plugin state sync against the backend stand-in, and plugin/skill filtering by session source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fixtures.plugin_backend import PluginBackend
from server.plugins.catalog import offered_to
from server.plugins.manifest import read_manifest
from server.plugins.marketplace import Entry
from server.plugins.remote import sync
from server.protocol.errors import InternalError


def test_sync_posts_the_action_with_stored_credentials(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text(json.dumps({"tokens": {"access_token": "secret-token", "account_id": "acc"}}))
    with PluginBackend() as backend:
        sync(backend.base_url, tmp_path, "alpha@mp", "install")
        [request] = backend.requests
        assert (request.method, request.path, request.authorized) == (
            "POST",
            "/backend-api/ps/plugins/alpha@mp/install",
            True,
        )
        assert backend.installed == {"alpha@mp"}


def test_failed_sync_names_the_request_but_never_the_token(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text(json.dumps({"tokens": {"access_token": "secret-token"}}))
    with PluginBackend() as backend:
        backend.fail_with(502, "bad gateway upstream")
        with pytest.raises(InternalError) as excinfo:
            sync(backend.base_url, tmp_path, "alpha@mp", "uninstall")
    message = str(excinfo.value)
    assert message.startswith(
        f"uninstall remote plugin: remote plugin catalog request to {backend.base_url}/ps/plugins/"
    )
    assert "502 Bad Gateway" in message
    assert "secret-token" not in message


def test_unreachable_backend_is_an_internal_error(tmp_path: Path) -> None:
    with pytest.raises(
        InternalError, match=re.escape("install remote plugin: remote plugin catalog request to http://127.0.0.1:9/")
    ):
        sync("http://127.0.0.1:9/backend-api", tmp_path, "alpha@mp", "install")


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
