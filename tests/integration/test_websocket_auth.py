"""Websocket authentication at the handshake, and the attacks it must withstand.

Every refusal test also checks that the server is still up and that a connection authenticated before the
attack keeps working: a bad client must cost nobody else anything. Runs against ours and upstream with the
same flags; the few places upstream differs are branched on `app_server_kind` and say why.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from codex_app_harness.sync import Client
from codex_app_harness.websocket_server import WebSocketServer
from tests.integration.ws_support import (
    bearer,
    closing_of,
    handshake,
    http_request,
    metadata_works,
    raw_client,
    run_briefly,
    send,
)

WsServerFactory = Callable[..., WebSocketServer]
SECRET = secrets.token_hex(32)
ISSUER, AUDIENCE = "https://issuer.test", "app-server-tests"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"exp": now + 600, "iat": now, "iss": ISSUER, "aud": AUDIENCE, "sub": "tester"}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def signed(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


def unsigned_alg_none() -> str:
    """The classic bypass: `alg: none` and an empty signature."""
    return f"{b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64url(json.dumps(claims()).encode())}."


def with_header_alg(alg: str) -> str:
    """A token whose header claims `alg` but that is HMAC-SHA256-signed with the secret (algorithm confusion)."""
    import hmac

    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims()).encode())
    mac = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def tampered_payload() -> str:
    head, _, signature = signed().split(".")
    return f"{head}.{b64url(json.dumps(claims(sub='admin')).encode())}.{signature}"


def tampered_signature() -> str:
    token = signed()
    last = "A" if token[-2] != "A" else "B"
    return token[:-2] + last + token[-1]


def write_secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value)
    path.chmod(0o600)
    return path


@pytest.fixture
def capability(tmp_path: Path) -> str:
    return secrets.token_hex(32)


@pytest.fixture
def capability_server(ws_server_factory: WsServerFactory, tmp_path: Path, capability: str) -> WebSocketServer:
    token_file = write_secret(tmp_path, "token", capability + "\n")  # trailing newline: trimmed, as upstream
    return ws_server_factory(args=["--ws-auth", "capability-token", "--ws-token-file", str(token_file)])


@pytest.fixture
def jwt_server(ws_server_factory: WsServerFactory, tmp_path: Path) -> WebSocketServer:
    secret_file = write_secret(tmp_path, "secret", SECRET + "\n")
    return ws_server_factory(
        args=[
            "--ws-auth",
            "signed-bearer-token",
            "--ws-shared-secret-file",
            str(secret_file),
            "--ws-issuer",
            ISSUER,
            "--ws-audience",
            AUDIENCE,
        ]
    )


@pytest.fixture
def bystander(jwt_server: WebSocketServer) -> Iterator[Client]:
    """A client authenticated before the attack; it must not notice anything."""
    client = jwt_server.connect(token=signed())
    yield client
    assert client.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def assert_server_fine(server: WebSocketServer, token: str) -> None:
    assert http_request(server, "/readyz")[0] == 200
    assert server.connect(token=token).request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


# ------------------------------------------------------------------------------------ capability token


def test_a_capability_token_from_the_file_gets_in(capability_server: WebSocketServer, capability: str) -> None:
    client = capability_server.connect(token=capability)
    assert client.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_the_bearer_scheme_is_case_insensitive(capability_server: WebSocketServer, capability: str) -> None:
    assert handshake(capability_server.url, {"Authorization": f"bearer {capability}"}) == (101, b"")


def test_no_authorization_header_is_401_missing(capability_server: WebSocketServer) -> None:
    assert handshake(capability_server.url) == (401, b"missing websocket bearer token")


def test_a_wrong_capability_token_is_401_invalid(capability_server: WebSocketServer, capability: str) -> None:
    assert handshake(capability_server.url, bearer(capability[:-1] + "x")) == (401, b"invalid websocket bearer token")


@pytest.mark.parametrize("value", ["{token}", "Basic {token}", "Bearer", "Bearer "])
def test_an_authorization_header_that_is_not_a_bearer_token_is_401(
    capability_server: WebSocketServer, capability: str, value: str
) -> None:
    headers = {"Authorization": value.format(token=capability)}
    assert handshake(capability_server.url, headers) == (401, b"invalid authorization header")


def test_two_authorization_headers_are_refused(
    capability_server: WebSocketServer, capability: str, app_server_kind: str
) -> None:
    headers = [("Authorization", f"Bearer {capability}"), ("Authorization", "Bearer wrong")]
    if app_server_kind == "python":
        # Which of two credentials counts is where proxies and servers disagree; we accept neither.
        assert handshake(capability_server.url, headers) == (401, b"invalid authorization header")
    else:
        # Upstream 0.163 reads only the first Authorization header (here the right token) and ignores the rest.
        assert handshake(capability_server.url, headers) == (101, b"")


def test_tokens_never_reach_the_log(capability_server: WebSocketServer, capability: str) -> None:
    attempted = "attempted-" + secrets.token_hex(16)
    assert handshake(capability_server.url, bearer(attempted))[0] == 401
    with raw_client(capability_server.url, capability) as ws:
        ws.send("{not json")
        assert metadata_works(ws, 1)
    capability_server.stop()
    log = "\n".join(capability_server.stderr)
    assert attempted not in log
    assert capability not in log


def test_a_token_in_the_query_string_is_not_accepted(capability_server: WebSocketServer, capability: str) -> None:
    assert handshake(f"{capability_server.url}/?token={capability}") == (401, b"missing websocket bearer token")


def test_a_token_in_the_subprotocol_header_is_not_accepted(capability_server: WebSocketServer, capability: str) -> None:
    headers = {"Sec-WebSocket-Protocol": capability}
    assert handshake(capability_server.url, headers) == (401, b"missing websocket bearer token")


def test_origin_is_refused_403_before_the_token_is_looked_at(
    capability_server: WebSocketServer, capability: str
) -> None:
    assert handshake(capability_server.url, {"Origin": "http://127.0.0.1"}) == (403, b"")
    assert handshake(capability_server.url, {"Origin": "http://127.0.0.1", **bearer(capability)}) == (403, b"")


def test_health_needs_no_token_when_auth_is_on(capability_server: WebSocketServer) -> None:
    assert http_request(capability_server, "/healthz")[:2] == (200, b"")
    assert http_request(capability_server, "/readyz")[:2] == (200, b"")


def test_nothing_reaches_initialize_without_the_token(capability_server: WebSocketServer, capability: str) -> None:
    """The refusal is the HTTP response itself: no websocket, so no JSON-RPC frame can ever be read."""
    status, _ = handshake(capability_server.url, bearer("wrong"))
    assert status == 401
    with raw_client(capability_server.url, capability) as ws:
        assert metadata_works(ws, 1)


def test_the_sha256_of_the_token_works_instead_of_the_file(ws_server_factory: WsServerFactory, capability: str) -> None:
    digest = hashlib.sha256(capability.encode()).hexdigest()
    server = ws_server_factory(args=["--ws-auth", "capability-token", "--ws-token-sha256", digest])
    assert handshake(server.url, bearer(capability)) == (101, b"")
    assert handshake(server.url, bearer(capability + "x")) == (401, b"invalid websocket bearer token")


def test_a_short_capability_token_is_refused_at_start_up(
    ws_server_factory: WsServerFactory, app_server_kind: str, tmp_path: Path
) -> None:
    token_file = write_secret(tmp_path, "short", "0123456789abc")
    args = ["--ws-auth", "capability-token", "--ws-token-file", str(token_file)]
    if app_server_kind == "python":
        done = run_briefly(app_server_kind, tmp_path, "--listen", "ws://127.0.0.1:0", *args)
        assert done.returncode == 1
        assert "at least 32 bytes" in done.stderr
        assert "openssl rand -hex 32" in done.stderr
    else:
        # Upstream 0.163 accepts capability tokens of any length (13 characters here) and lets them in; the
        # issue asks us not to copy that. Pin upstream's behaviour so a change there is noticed.
        server = ws_server_factory(args=args)
        assert handshake(server.url, bearer("0123456789abc")) == (101, b"")


# ------------------------------------------------------------------------------------ signed bearer (JWT)


def test_a_valid_signed_token_gets_in(jwt_server: WebSocketServer) -> None:
    assert jwt_server.connect(token=signed()).request("fs/getMetadata", {"path": "/"})["isDirectory"] is True


def test_expiry_within_the_default_clock_skew_is_tolerated(jwt_server: WebSocketServer) -> None:
    assert handshake(jwt_server.url, bearer(signed(exp=int(time.time()) - 5))) == (101, b"")


REFUSED_TOKENS: dict[str, tuple[Callable[[], str], bytes]] = {
    "alg_none": (unsigned_alg_none, b"invalid websocket jwt"),
    "wrong_alg_hs512": (lambda: jwt.encode(claims(), SECRET + SECRET, algorithm="HS512"), b"invalid websocket jwt"),
    "alg_confusion_rs256_header": (lambda: with_header_alg("RS256"), b"invalid websocket jwt"),
    "wrong_key": (lambda: jwt.encode(claims(), secrets.token_hex(32), algorithm="HS256"), b"invalid websocket jwt"),
    "tampered_signature": (tampered_signature, b"invalid websocket jwt"),
    "tampered_payload": (tampered_payload, b"invalid websocket jwt"),
    "not_a_jwt": (lambda: "abc.def.ghi", b"invalid websocket jwt"),
    "no_exp": (lambda: signed(exp=None), b"invalid websocket jwt"),
    "expired": (lambda: signed(exp=int(time.time()) - 3600), b"expired websocket jwt"),
    "not_yet_valid": (lambda: signed(nbf=int(time.time()) + 3600), b"websocket jwt is not valid yet"),
    "wrong_issuer": (lambda: signed(iss="https://evil.example"), b"websocket jwt issuer mismatch"),
    "no_issuer": (lambda: signed(iss=None), b"websocket jwt issuer mismatch"),
    "wrong_audience": (lambda: signed(aud="someone-else"), b"websocket jwt audience mismatch"),
}


@pytest.mark.parametrize("case", list(REFUSED_TOKENS))
def test_a_bad_signed_token_is_refused_and_nobody_else_notices(
    jwt_server: WebSocketServer, bystander: Client, case: str
) -> None:
    make, reason = REFUSED_TOKENS[case]
    assert handshake(jwt_server.url, bearer(make())) == (401, reason)
    assert_server_fine(jwt_server, signed())


def test_a_token_issued_in_the_future_is_refused(jwt_server: WebSocketServer, app_server_kind: str) -> None:
    token = signed(iat=int(time.time()) + 3600)
    if app_server_kind == "python":
        assert handshake(jwt_server.url, bearer(token)) == (401, b"websocket jwt is not valid yet")
    else:
        # Upstream 0.163 ignores `iat` (only `exp` and `nbf` are checked); the issue asks us to honour it.
        assert handshake(jwt_server.url, bearer(token)) == (101, b"")


def test_a_signed_token_in_the_query_string_is_not_accepted(jwt_server: WebSocketServer) -> None:
    assert handshake(f"{jwt_server.url}/?access_token={signed()}") == (401, b"missing websocket bearer token")


def test_an_oversized_header_is_refused_and_nobody_else_notices(
    jwt_server: WebSocketServer, bystander: Client, app_server_kind: str
) -> None:
    status, _ = handshake(jwt_server.url, bearer("a" * 100_000))
    # Ours refuses header lines over 8 KiB before parsing them (431); upstream reads them and refuses the token.
    assert status == (431 if app_server_kind == "python" else 401)
    assert_server_fine(jwt_server, signed())


def test_an_oversized_frame_closes_only_that_connection(jwt_server: WebSocketServer, bystander: Client) -> None:
    with raw_client(jwt_server.url, signed()) as ws:
        with contextlib.suppress(ConnectionClosed):  # upstream may drop the connection while we still send
            send(ws, 1, "fs/getMetadata", {"path": "/" + "a" * (17 * 1024 * 1024)})
        closing_of(ws)
    assert_server_fine(jwt_server, signed())


def test_an_invalid_utf8_text_frame_closes_only_that_connection(jwt_server: WebSocketServer, bystander: Client) -> None:
    with raw_client(jwt_server.url, signed()) as ws:
        ws.send(b'{"id":1,"method":"fs/getMetadata","params":{"path":"/\xff\xfe"}}', text=True)
        closing_of(ws)
    assert_server_fine(jwt_server, signed())


def test_the_shared_secret_file_is_trimmed(jwt_server: WebSocketServer) -> None:
    """The fixture's secret file ends with a newline; tokens signed without it are accepted."""
    assert handshake(jwt_server.url, bearer(signed())) == (101, b"")


def test_issuer_and_audience_are_optional(ws_server_factory: WsServerFactory, tmp_path: Path) -> None:
    secret_file = write_secret(tmp_path, "secret", SECRET)
    server = ws_server_factory(args=["--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", str(secret_file)])
    assert handshake(server.url, bearer(signed(iss="anyone", aud="anything"))) == (101, b"")


def test_the_clock_skew_flag_narrows_the_tolerance(ws_server_factory: WsServerFactory, tmp_path: Path) -> None:
    secret_file = write_secret(tmp_path, "secret", SECRET)
    server = ws_server_factory(
        args=[
            "--ws-auth",
            "signed-bearer-token",
            "--ws-shared-secret-file",
            str(secret_file),
            "--ws-max-clock-skew-seconds",
            "0",
        ]
    )
    assert handshake(server.url, bearer(signed(exp=int(time.time()) - 5))) == (401, b"expired websocket jwt")


# ------------------------------------------------------------------------------------ start-up validation

FLAG_ERRORS: dict[str, tuple[list[str], str]] = {
    "capability_without_token": (
        ["--ws-auth", "capability-token"],
        "`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set",
    ),
    "token_file_without_mode": (
        ["--ws-token-file", "{good}"],
        "websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`",
    ),
    "bad_sha256": (
        ["--ws-auth", "capability-token", "--ws-token-sha256", "abc"],
        "--ws-token-sha256 must be a 64-character hex SHA-256 digest",
    ),
    "file_and_sha256": (
        ["--ws-auth", "capability-token", "--ws-token-file", "{good}", "--ws-token-sha256", "0" * 64],
        "`--ws-token-file` and `--ws-token-sha256` are mutually exclusive",
    ),
    "signed_without_secret": (
        ["--ws-auth", "signed-bearer-token"],
        "`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set",
    ),
    "short_secret": (
        ["--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "{short}"],
        "must be at least 32 bytes",
    ),
    "missing_token_file": (
        ["--ws-auth", "capability-token", "--ws-token-file", "{missing}"],
        "failed to read websocket auth secret {missing}: No such file or directory (os error 2)",
    ),
}


@pytest.mark.parametrize("case", list(FLAG_ERRORS))
def test_inconsistent_auth_flags_stop_start_up_with_one_clear_line(
    app_server_kind: str, tmp_path: Path, case: str
) -> None:
    paths = {
        "good": str(write_secret(tmp_path, "good", secrets.token_hex(32))),
        "short": str(write_secret(tmp_path, "short", "too-short")),
        "missing": str(tmp_path / "nope.txt"),
    }
    args, message = FLAG_ERRORS[case]
    done = run_briefly(app_server_kind, tmp_path, "--listen", "ws://127.0.0.1:0", *(a.format(**paths) for a in args))
    assert done.returncode == 1
    assert message.format(**paths) in done.stderr
    if app_server_kind == "python":
        # Upstream follows its one-line error with a "Stack backtrace:" of unnamed frames; ours says one line.
        assert done.stderr.strip().count("\n") == 0
    assert SECRET not in done.stderr


def test_an_unknown_auth_mode_is_a_usage_error(app_server_kind: str, tmp_path: Path) -> None:
    done = run_briefly(app_server_kind, tmp_path, "--listen", "ws://127.0.0.1:0", "--ws-auth", "bogus")
    assert done.returncode == 2
    assert "bogus" in done.stderr
