"""auth.json: upstream's format, atomic 0600 writes, and clear errors for files we cannot use."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from server.auth import storage
from server.auth.storage import AuthFileError, Tokens

TOKENS = Tokens(id_token="id.jwt.sig", access_token="access.jwt.sig", refresh_token="rt-secret", account_id="acct")


def test_api_key_file_matches_upstream_byte_for_byte(tmp_path: Path) -> None:
    storage.write(tmp_path, storage.api_key_auth("sk-1"))
    assert (tmp_path / "auth.json").read_text() == '{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-1"\n}'


def test_chatgpt_file_has_upstream_keys_in_order(tmp_path: Path) -> None:
    storage.write(tmp_path, storage.chatgpt_auth(TOKENS))
    data = json.loads((tmp_path / "auth.json").read_text())
    assert list(data) == ["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"]
    assert list(data["tokens"]) == ["id_token", "access_token", "refresh_token", "account_id"]
    assert data["OPENAI_API_KEY"] is None
    assert data["last_refresh"].endswith("Z")
    assert len(data["last_refresh"].split(".")[1]) == len("123456789Z")


def test_round_trip_keeps_unknown_fields(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-2", "agent_identity": {"x": 1}}))
    auth = storage.read(tmp_path)
    assert auth is not None
    assert auth.mode == "apikey"
    storage.write(tmp_path, auth)
    assert json.loads((tmp_path / "auth.json").read_text())["agent_identity"] == {"x": 1}


def test_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        storage.write(tmp_path, storage.api_key_auth("sk-3"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "auth.json").stat().st_mode) == 0o600


def test_failed_replace_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage.write(tmp_path, storage.api_key_auth("sk-old"))

    def broken_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        storage.write(tmp_path, storage.api_key_auth("sk-new"))
    assert storage.read(tmp_path) == storage.api_key_auth("sk-old")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["auth.json"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"tokens": ', "not valid JSON"),
        ("[1]", "expected a JSON object"),
        ('{"auth_mode": "magic"}', "auth_mode must be"),
        ('{"tokens": {"id_token": "a", "access_token": 5, "refresh_token": "rt-secret"}}', "tokens.access_token"),
    ],
)
def test_unusable_file_is_an_error_naming_the_file(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "auth.json").write_text(text)
    with pytest.raises(AuthFileError) as excinfo:
        storage.read(tmp_path)
    assert str(tmp_path / "auth.json") in str(excinfo.value)
    assert reason in str(excinfo.value)
    assert "rt-secret" not in str(excinfo.value)


def test_missing_file_means_logged_out_and_remove_is_idempotent(tmp_path: Path) -> None:
    assert storage.read(tmp_path) is None
    assert storage.remove(tmp_path) is False
    storage.write(tmp_path, storage.api_key_auth("sk-4"))
    assert storage.remove(tmp_path) is True
    assert storage.read(tmp_path) is None
