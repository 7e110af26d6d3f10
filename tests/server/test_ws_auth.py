"""Websocket auth, listen-address parsing, banner and handshake gate, without sockets."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from server import __main__ as cli
from server.transport import ws_auth
from server.transport.listen import ListenAddress, ListenUrlError, banner, parse_ws_url
from server.transport.websocket import HandshakeGate
from server.transport.ws_auth import AuthConfigError, AuthFlags, Refusal

SECRET = b"s" * 32
TOKEN = "t" * 40


def signer(**overrides: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"exp": now + 60, "iat": now, **overrides}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, SECRET, algorithm="HS256")


def jwt_auth(**kwargs: Any) -> ws_auth.SignedBearerToken:
    options: dict[str, Any] = {"issuer": None, "audience": None, "leeway": 30, **kwargs}
    return ws_auth.SignedBearerToken(SECRET, **options)


# -- bearer header


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (None, Refusal.MISSING)),
        (["Bearer abc"], ("abc", None)),
        (["bearer   abc  "], ("abc", None)),
        (["BEARER abc"], ("abc", None)),
        (["abc"], (None, Refusal.MALFORMED_HEADER)),
        (["Basic abc"], (None, Refusal.MALFORMED_HEADER)),
        (["Bearer"], (None, Refusal.MALFORMED_HEADER)),
        (["Bearer   "], (None, Refusal.MALFORMED_HEADER)),
        (["Bearer a", "Bearer b"], (None, Refusal.MALFORMED_HEADER)),
    ],
)
def test_bearer_token_parsing(values: list[str], expected: tuple[str | None, Refusal | None]) -> None:
    assert ws_auth.bearer_token(values) == expected


# -- capability token


def test_capability_token_accepts_only_the_token_with_the_digest() -> None:
    auth = ws_auth.CapabilityToken(hashlib.sha256(TOKEN.encode()).digest())
    assert auth.verify(TOKEN) is None
    assert auth.verify(TOKEN + " ") is None
    assert auth.verify(TOKEN[:-1]) is Refusal.WRONG_CAPABILITY
    assert auth.verify("") is Refusal.WRONG_CAPABILITY


def test_capability_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = ws_auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(ws_auth.hmac, "compare_digest", spy)
    ws_auth.CapabilityToken(hashlib.sha256(TOKEN.encode()).digest()).verify("guess")
    assert len(calls) == 1


def test_token_file_is_trimmed_and_must_hold_32_bytes(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text(f"  {TOKEN}\n")
    auth = ws_auth.from_flags(AuthFlags(mode="capability-token", token_file=good))
    assert auth is not None
    assert auth.verify(TOKEN) is None
    short = tmp_path / "short"
    short.write_text("x" * 31 + "\n")
    with pytest.raises(AuthConfigError, match=r"at least 32 bytes \(it has 31\).*openssl rand -hex 32"):
        ws_auth.from_flags(AuthFlags(mode="capability-token", token_file=short))


def test_sha256_flag_is_validated() -> None:
    with pytest.raises(AuthConfigError, match="64-character hex"):
        ws_auth.from_flags(AuthFlags(mode="capability-token", token_sha256="xyz"))
    digest = hashlib.sha256(TOKEN.encode()).hexdigest().upper()
    auth = ws_auth.from_flags(AuthFlags(mode="capability-token", token_sha256=digest))
    assert auth is not None
    assert auth.verify(TOKEN) is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (AuthFlags(token_sha256="0" * 64), "websocket auth flags require"),
        (AuthFlags(issuer="x"), "websocket auth flags require"),
        (AuthFlags(mode="capability-token"), "is required when `--ws-auth capability-token`"),
        (AuthFlags(mode="capability-token", token_file=Path("f"), token_sha256="0" * 64), "mutually exclusive"),
        (AuthFlags(mode="signed-bearer-token"), "`--ws-shared-secret-file` is required"),
        (AuthFlags(mode="other"), "unknown --ws-auth mode"),
    ],
)
def test_inconsistent_flags_are_refused(flags: AuthFlags, message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        ws_auth.from_flags(flags)


def test_no_flags_means_no_auth() -> None:
    assert ws_auth.from_flags(AuthFlags()) is None


def test_unreadable_secret_names_the_file_and_os_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(AuthConfigError, match=rf"{missing}: No such file or directory \(os error 2\)"):
        ws_auth.from_flags(AuthFlags(mode="signed-bearer-token", shared_secret_file=missing))


def test_short_shared_secret_is_refused_with_a_hint(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"x" * 31)
    with pytest.raises(AuthConfigError, match=r"at least 32 bytes.*openssl rand"):
        ws_auth.from_flags(AuthFlags(mode="signed-bearer-token", shared_secret_file=secret))


# -- signed bearer tokens


def test_jwt_valid_token_passes() -> None:
    assert jwt_auth().verify(signer()) is None


@pytest.mark.parametrize(
    ("token", "refusal"),
    [
        (lambda: signer(exp=None), Refusal.INVALID_JWT),
        (lambda: signer(exp=int(time.time()) - 120), Refusal.EXPIRED_JWT),
        (lambda: signer(nbf=int(time.time()) + 120), Refusal.IMMATURE_JWT),
        (lambda: signer(iat=int(time.time()) + 120), Refusal.IMMATURE_JWT),
        (lambda: jwt.encode({"exp": int(time.time()) + 60}, SECRET * 2, algorithm="HS512"), Refusal.INVALID_JWT),
        (lambda: jwt.encode({"exp": int(time.time()) + 60}, None, algorithm="none"), Refusal.INVALID_JWT),
        (lambda: jwt.encode({"exp": int(time.time()) + 60}, b"k" * 32, algorithm="HS256"), Refusal.INVALID_JWT),
        (lambda: "a.b.c", Refusal.INVALID_JWT),
    ],
)
def test_jwt_refusals(token: Any, refusal: Refusal) -> None:
    assert jwt_auth().verify(token()) is refusal


def test_jwt_leeway_tolerates_small_clock_skew() -> None:
    assert jwt_auth(leeway=30).verify(signer(exp=int(time.time()) - 10)) is None
    assert jwt_auth(leeway=0).verify(signer(exp=int(time.time()) - 10)) is Refusal.EXPIRED_JWT


def test_jwt_issuer_and_audience_are_checked_only_when_configured() -> None:
    auth = jwt_auth(issuer="me", audience="us")
    assert auth.verify(signer(iss="me", aud="us")) is None
    assert auth.verify(signer(iss="me", aud=["them", "us"])) is None
    assert auth.verify(signer(iss="you", aud="us")) is Refusal.ISSUER_MISMATCH
    assert auth.verify(signer(aud="us")) is Refusal.ISSUER_MISMATCH
    assert auth.verify(signer(iss="me", aud="them")) is Refusal.AUDIENCE_MISMATCH
    assert auth.verify(signer(iss="me")) is Refusal.AUDIENCE_MISMATCH
    assert jwt_auth().verify(signer(iss="anyone", aud="anything")) is None


# -- listen address and banner


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("ws://127.0.0.1:0", ListenAddress("127.0.0.1", 0)),
        ("ws://0.0.0.0:8080", ListenAddress("0.0.0.0", 8080)),
        ("ws://[::1]:9", ListenAddress("::1", 9)),
    ],
)
def test_parse_ws_url(url: str, address: ListenAddress) -> None:
    assert parse_ws_url(url) == address


@pytest.mark.parametrize("url", ["ws://localhost:1", "ws://127.0.0.1", "ws://127.0.0.1:65536", "ws://::1:9", "ws://"])
def test_parse_ws_url_refuses_names_and_bad_ports(url: str) -> None:
    with pytest.raises(ListenUrlError, match="expected `ws://IP:PORT`"):
        parse_ws_url(url)


def test_banner_on_loopback_matches_upstream() -> None:
    assert banner(ListenAddress("127.0.0.1", 4500), authenticated=False).splitlines() == [
        "codex app-server (WebSockets)",
        "  listening on: ws://127.0.0.1:4500",
        "  readyz: http://127.0.0.1:4500/readyz",
        "  healthz: http://127.0.0.1:4500/healthz",
        "  note: binds localhost only (use SSH port-forwarding for remote access)",
    ]


def test_banner_off_loopback_says_whether_auth_is_configured() -> None:
    open_note = banner(ListenAddress("0.0.0.0", 1), authenticated=False).splitlines()[-1]
    assert "WITHOUT authentication" in open_note
    assert "--ws-auth" in open_note
    assert "Bearer" in banner(ListenAddress("::", 1), authenticated=True).splitlines()[-1]
    assert "ws://[::]:1" in banner(ListenAddress("::", 1), authenticated=True)


def test_non_loopback_without_auth_starts_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Binding 0.0.0.0 in a test would expose it; the transport's run() is replaced by one that only announces."""
    from server.transport import websocket

    async def fake_run(_context: object, address: ListenAddress, authenticator: object, **kwargs: Any) -> None:
        assert authenticator is None
        kwargs["announce"](ListenAddress(address.host, 4321))

    monkeypatch.setattr(websocket, "run", fake_run)
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    assert cli.main(["--listen", "ws://0.0.0.0:0"]) == 0
    err = capsys.readouterr().err
    assert "warning: listening on non-loopback address 0.0.0.0:0 without --ws-auth" in err
    assert "listening on: ws://0.0.0.0:4321" in err
    assert "WITHOUT authentication" in err


def test_negative_clock_skew_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--listen", "ws://127.0.0.1:0", "--ws-max-clock-skew-seconds", "-1"]) == 2
    assert "must not be negative" in capsys.readouterr().err


def test_stdio_start_up_imports_neither_websockets_nor_jwt() -> None:
    code = "import sys, server.__main__; print(sorted(m for m in ('websockets', 'jwt') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


# -- handshake gate


def request(path: str = "/", **headers: str) -> Request:
    base = {"Host": "127.0.0.1", "Connection": "Upgrade", "Upgrade": "websocket"}
    return Request(path, Headers({**base, **{k.replace("_", "-"): v for k, v in headers.items()}}))


def test_gate_order_origin_then_health_then_upgrade_then_token() -> None:
    gate = HandshakeGate(ws_auth.CapabilityToken(hashlib.sha256(TOKEN.encode()).digest()))
    conn: Any = None
    origin = gate(conn, request("/healthz", Origin="http://x"))
    assert origin is not None
    assert origin.status_code == 403
    health = gate(conn, request("/readyz?x=1"))
    assert health is not None
    assert (health.status_code, health.body) == (200, b"")
    plain = Request("/", Headers({"Host": "x"}))
    not_upgrade = gate(conn, plain)
    assert not_upgrade is not None
    assert (not_upgrade.status_code, not_upgrade.body) == (400, b"Connection header did not include 'upgrade'")
    refused = gate(conn, request(Authorization="Bearer nope"))
    assert refused is not None
    assert (refused.status_code, refused.body) == (401, b"invalid websocket bearer token")
    assert gate(conn, request("/any/path", Authorization=f"Bearer {TOKEN}")) is None


def test_gate_without_auth_lets_upgrades_through() -> None:
    conn: Any = None
    assert HandshakeGate(None)(conn, request(Authorization="Bearer whatever")) is None
