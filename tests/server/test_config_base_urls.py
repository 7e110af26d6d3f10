"""openai_base_url from config, the deprecated environment fallback, and chatgpt_base_url."""

from __future__ import annotations

from pathlib import Path

from server.config import load
from server.config.base_urls import CHATGPT_DEFAULT, OPENAI_DEFAULT, chatgpt_base_url, openai_base_url
from server.session import ServerContext, ServerOptions


def test_config_key_wins_over_the_environment_without_a_warning(tmp_path: Path) -> None:
    config = load(
        ServerContext(codex_home=tmp_path, options=ServerOptions(config_overrides=('openai_base_url="http://a/v1"',)))
    )
    resolved = openai_base_url(config, {"OPENAI_BASE_URL": "http://env/v1"})
    assert (resolved.url, resolved.warning) == ("http://a/v1", None)


def test_environment_fallback_warns_naming_the_replacement(tmp_path: Path) -> None:
    config = load(ServerContext(codex_home=tmp_path))
    resolved = openai_base_url(config, {"OPENAI_BASE_URL": "http://env/v1"})
    assert resolved.url == "http://env/v1"
    assert resolved.warning is not None
    assert "openai_base_url" in resolved.warning["summary"]


def test_defaults(tmp_path: Path) -> None:
    config = load(ServerContext(codex_home=tmp_path))
    assert openai_base_url(config, {}).url == OPENAI_DEFAULT
    assert chatgpt_base_url(config) == CHATGPT_DEFAULT
