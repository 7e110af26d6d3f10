"""AuthManager refresh against the loopback issuer: classification, poison keyed by snapshot, no leaks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.auth_issuer import AuthIssuer
from server.auth import issuer as issuer_client
from server.auth.endpoints import login_endpoints
from server.auth.manager import AuthManager
from server.session import ServerContext


@pytest.fixture
def issuer() -> Iterator[AuthIssuer]:
    with AuthIssuer() as running:
        yield running


@pytest.fixture
def manager(tmp_path: Path, issuer: AuthIssuer) -> AuthManager:
    (tmp_path / "auth.json").write_text(json.dumps(issuer.auth_json(), indent=2))
    return AuthManager(ServerContext(codex_home=tmp_path, environ=issuer.server_env()))


def refresh(manager: AuthManager) -> None:
    asyncio.run(manager.refresh())


def refresh_failure(manager: AuthManager) -> issuer_client.RefreshError:
    with pytest.raises(issuer_client.RefreshError) as excinfo:
        refresh(manager)
    return excinfo.value


def test_refresh_replaces_tokens_and_stamps_last_refresh(manager: AuthManager, issuer: AuthIssuer) -> None:
    before = manager.current()
    refresh(manager)
    after = manager.current()
    assert before is not None
    assert after is not None
    assert after.tokens is not None
    assert after.tokens.refresh_token == issuer.state.issued_refresh_tokens[-1]
    assert str(after.last_refresh) > str(before.last_refresh)
    assert manager.bearer_token() == issuer.state.issued_access_tokens[-1]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("refresh_token_reused", "already used"),
        ("refresh_token_expired", "has expired"),
        ("refresh_token_invalidated", "revoked"),
        ("something_new", "could not be refreshed"),
    ],
)
def test_a_401_is_permanent_and_poisons_only_that_snapshot(
    manager: AuthManager, issuer: AuthIssuer, code: str, words: str
) -> None:
    issuer.state.token_error = code
    first = refresh_failure(manager)
    assert first.permanent
    assert not first.cached
    assert words in str(first)
    assert refresh_failure(manager).cached
    assert issuer.state.token_calls == 1
    assert manager.bearer_token() is None
    assert manager.current() is not None  # still signed in, only no longer refreshable


def test_a_different_file_on_disk_clears_the_poison(manager: AuthManager, issuer: AuthIssuer) -> None:
    issuer.state.token_error = "refresh_token_reused"
    refresh_failure(manager)
    issuer.state.token_error = None
    (manager.codex_home / "auth.json").write_text(json.dumps(issuer.auth_json(), indent=2))
    refresh(manager)
    assert issuer.state.token_calls == 2


def test_server_errors_are_transient(manager: AuthManager, issuer: AuthIssuer) -> None:
    issuer.state.token_server_errors = 1
    failure = refresh_failure(manager)
    assert not failure.permanent
    assert "500 Internal Server Error" in str(failure)
    refresh(manager)
    assert issuer.state.token_calls == 2


def test_unreachable_issuer_is_transient_and_says_where(tmp_path: Path, issuer: AuthIssuer) -> None:
    (tmp_path / "auth.json").write_text(json.dumps(issuer.auth_json(), indent=2))
    dead = "http://127.0.0.1:9/oauth/token"
    manager = AuthManager(ServerContext(codex_home=tmp_path, environ={"CODEX_REFRESH_TOKEN_URL_OVERRIDE": dead}))
    failure = refresh_failure(manager)
    assert not failure.permanent
    assert dead in str(failure)


def test_invalid_grant_is_permanent_even_as_a_400(manager: AuthManager, issuer: AuthIssuer) -> None:
    issuer.state.token_error, issuer.state.token_error_status = "invalid_grant", 400
    assert refresh_failure(manager).permanent
    assert refresh_failure(manager).cached
    assert issuer.state.token_calls == 1


def test_refresh_errors_never_quote_the_token(issuer: AuthIssuer) -> None:
    endpoints = login_endpoints({"CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"{issuer.url}/oauth/token"})
    with pytest.raises(issuer_client.RefreshError) as excinfo:
        issuer_client.refresh(endpoints, "rt-never-issued")
    assert excinfo.value.permanent
    assert "rt-never-issued" not in str(excinfo.value)


def test_api_key_auth_has_nothing_to_refresh(tmp_path: Path, issuer: AuthIssuer) -> None:
    (tmp_path / "auth.json").write_text('{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-x"}')
    manager = AuthManager(ServerContext(codex_home=tmp_path, environ=issuer.server_env()))
    refresh(manager)
    assert issuer.state.token_calls == 0
    assert manager.bearer_token() == "sk-x"
