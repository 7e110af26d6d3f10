"""The real upstream Python SDK (PyPI `openai-codex`) as a client: API key and device-code login.

The SDK launches whatever command it is given, so it drives our server exactly as it drives upstream's; a
shape it cannot parse (its models are generated from upstream's schema) fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_app_harness.pytest_plugin import server_command
from codex_app_harness.transports import default_env
from fixtures.auth_issuer import AuthIssuer

openai_codex = pytest.importorskip("openai_codex", reason="the `test` extra installs the upstream SDK")


@pytest.fixture
def issuer() -> Iterator[AuthIssuer]:
    with AuthIssuer() as running:
        running.state.interval = "0"
        running.state.pending_polls = 1
        yield running


@pytest.fixture
def codex_home(tmp_path: Path, issuer: AuthIssuer) -> Path:
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(issuer.config_toml())
    return home


def sdk(kind: str, home: Path, issuer: AuthIssuer) -> openai_codex.Codex:
    env = default_env(home, {**issuer.server_env(), "CODEX_APP_SERVER_LOGIN_CALLBACK_PORT": "0"})
    config = openai_codex.CodexConfig(launch_args_override=tuple(server_command(kind)), env=env)
    return openai_codex.Codex(config)


def test_sdk_api_key_login(app_server_kind: str, codex_home: Path, issuer: AuthIssuer) -> None:
    with sdk(app_server_kind, codex_home, issuer) as codex:
        codex.login_api_key("sk-from-the-sdk")
        account = codex.account().account
        assert account is not None
        assert account.root.type == "apiKey"
        codex.logout()
        assert codex.account().account is None
    assert not (codex_home / "auth.json").exists()


def test_sdk_device_code_login(app_server_kind: str, codex_home: Path, issuer: AuthIssuer) -> None:
    with sdk(app_server_kind, codex_home, issuer) as codex:
        handle = codex.login_chatgpt_device_code()
        assert handle.verification_url == f"{issuer.url}/codex/device"
        assert handle.user_code
        completed = handle.wait()
        assert completed.success is True
        assert completed.login_id == handle.login_id
        account = codex.account(refresh_token=True).account
        assert account is not None
        assert account.root.type == "chatgpt"
        assert account.root.email == "dev@example.com"
    assert issuer.state.grants == ["authorization_code", "refresh_token"]
