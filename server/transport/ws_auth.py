"""Websocket handshake authentication: who may open a connection, decided before any JSON-RPC byte.

Two modes, named and worded as upstream 0.163 (protocol notes, section 9):

- `capability-token`: a shared random token. We keep only its SHA-256 and compare digests with
  `hmac.compare_digest`, so neither the token nor its length leaks through timing or memory dumps.
- `signed-bearer-token`: an HS256 JWT signed with a shared secret, verified by PyJWT with the algorithm
  pinned (no `none`, no RS/HS key confusion), `exp` required and `nbf`/`iat` checked with a clock skew.

Secrets and tokens shorter than 32 bytes are refused at start-up: HS256 keys below the hash size weaken the
MAC (RFC 7518, section 3.2), and a short capability token can be guessed online. Upstream enforces this for
JWT secrets only; it accepts 13-character capability tokens, which we deliberately do not copy.

The 401 bodies are upstream's, because clients and operators grep for them. Nothing here logs a token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

CAPABILITY_MODE = "capability-token"
SIGNED_MODE = "signed-bearer-token"
MODES = (CAPABILITY_MODE, SIGNED_MODE)

MIN_SECRET_BYTES = 32
DEFAULT_MAX_CLOCK_SKEW_SECONDS = 30
"""Upstream's default, measured: a JWT that expired 20 s ago is accepted, 40 s ago refused."""
GENERATE_HINT = "generate one with `openssl rand -hex 32`"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class Refusal(StrEnum):
    """Why a handshake was refused: upstream's 401 bodies, word for word."""

    MISSING = "missing websocket bearer token"
    MALFORMED_HEADER = "invalid authorization header"
    WRONG_CAPABILITY = "invalid websocket bearer token"
    INVALID_JWT = "invalid websocket jwt"
    EXPIRED_JWT = "expired websocket jwt"
    IMMATURE_JWT = "websocket jwt is not valid yet"
    ISSUER_MISMATCH = "websocket jwt issuer mismatch"
    AUDIENCE_MISMATCH = "websocket jwt audience mismatch"


class AuthConfigError(Exception):
    """The websocket auth flags are inconsistent or a secret is unusable; the message is one line for the user."""


class Authenticator(Protocol):
    def verify(self, token: str) -> Refusal | None:
        """None when the bearer token is good, else why not (sent back as the 401 body)."""
        ...


@dataclass(frozen=True)
class AuthFlags:
    """The `--ws-*` command-line flags, before validation."""

    mode: str | None = None
    token_file: Path | None = None
    token_sha256: str | None = None
    shared_secret_file: Path | None = None
    issuer: str | None = None
    audience: str | None = None
    max_clock_skew_seconds: int | None = None

    def any_detail(self) -> bool:
        return any(
            value is not None
            for value in (
                self.token_file,
                self.token_sha256,
                self.shared_secret_file,
                self.issuer,
                self.audience,
                self.max_clock_skew_seconds,
            )
        )


class CapabilityToken:
    """Accepts the one token whose SHA-256 we were given."""

    def __init__(self, digest: bytes) -> None:
        self._digest = digest

    def verify(self, token: str) -> Refusal | None:
        candidate = hashlib.sha256(token.strip().encode()).digest()
        return None if hmac.compare_digest(candidate, self._digest) else Refusal.WRONG_CAPABILITY


class SignedBearerToken:
    """Accepts HS256 JWTs signed with the shared secret, with optional issuer and audience checks."""

    def __init__(self, secret: bytes, *, issuer: str | None, audience: str | None, leeway: int) -> None:
        import jwt  # only this mode pays for PyJWT (and the cryptography probe it does at import)

        self._jwt = jwt
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    def verify(self, token: str) -> Refusal | None:
        jwt = self._jwt
        try:
            jwt.decode(
                token.strip(),
                self._secret,
                algorithms=["HS256"],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError:
            return Refusal.EXPIRED_JWT
        except jwt.ImmatureSignatureError:
            return Refusal.IMMATURE_JWT
        except jwt.MissingRequiredClaimError as exc:
            return {"iss": Refusal.ISSUER_MISMATCH, "aud": Refusal.AUDIENCE_MISMATCH}.get(
                exc.claim, Refusal.INVALID_JWT
            )
        except jwt.InvalidIssuerError:
            return Refusal.ISSUER_MISMATCH
        except jwt.InvalidAudienceError:
            return Refusal.AUDIENCE_MISMATCH
        except jwt.InvalidTokenError:
            return Refusal.INVALID_JWT
        return None


def bearer_token(authorization: Sequence[str]) -> tuple[str | None, Refusal | None]:
    """(token, None) from the `Authorization` header values, or (None, reason to refuse).

    The scheme is case-insensitive (RFC 9110, section 11.1). Several Authorization headers are refused:
    proxies and servers disagree on which one wins, and an attacker profits from the disagreement.
    """
    if not authorization:
        return None, Refusal.MISSING
    if len(authorization) > 1:
        return None, Refusal.MALFORMED_HEADER
    scheme, _, token = authorization[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, Refusal.MALFORMED_HEADER
    return token.strip(), None


def check(authenticator: Authenticator, authorization: Sequence[str]) -> Refusal | None:
    """None when the handshake may proceed, else the 401 body."""
    token, refusal = bearer_token(authorization)
    if token is None:
        return refusal
    return authenticator.verify(token)


def _read_secret(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise AuthConfigError(
            f"failed to read websocket auth secret {path}: {exc.strerror} (os error {exc.errno})"
        ) from None


def from_flags(flags: AuthFlags) -> Authenticator | None:
    """The authenticator the flags ask for (None: no auth), or AuthConfigError with upstream's wording."""
    if flags.mode is None:
        if flags.any_detail():
            raise AuthConfigError(
                "websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`"
            )
        return None
    if flags.mode == CAPABILITY_MODE:
        return _capability_token(flags)
    if flags.mode == SIGNED_MODE:
        return _signed_bearer_token(flags)
    raise AuthConfigError(f"unknown --ws-auth mode {flags.mode!r}; expected one of {', '.join(MODES)}")


def _capability_token(flags: AuthFlags) -> CapabilityToken:
    if flags.token_file is not None and flags.token_sha256 is not None:
        raise AuthConfigError("`--ws-token-file` and `--ws-token-sha256` are mutually exclusive")
    if flags.token_sha256 is not None:
        if not _SHA256_HEX.fullmatch(flags.token_sha256):
            raise AuthConfigError("--ws-token-sha256 must be a 64-character hex SHA-256 digest")
        return CapabilityToken(bytes.fromhex(flags.token_sha256))
    if flags.token_file is None:
        raise AuthConfigError(
            "`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set"
        )
    token = _read_secret(flags.token_file)
    if len(token) < MIN_SECRET_BYTES:
        raise AuthConfigError(
            f"websocket capability token in {flags.token_file} must be at least {MIN_SECRET_BYTES} bytes "
            f"(it has {len(token)}); {GENERATE_HINT}"
        )
    return CapabilityToken(hashlib.sha256(token).digest())


def _signed_bearer_token(flags: AuthFlags) -> SignedBearerToken:
    if flags.shared_secret_file is None:
        raise AuthConfigError("`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set")
    secret = _read_secret(flags.shared_secret_file)
    if len(secret) < MIN_SECRET_BYTES:
        raise AuthConfigError(
            f"signed websocket bearer secret {flags.shared_secret_file} must be at least {MIN_SECRET_BYTES} bytes "
            f"(it has {len(secret)}); {GENERATE_HINT}"
        )
    skew = DEFAULT_MAX_CLOCK_SKEW_SECONDS if flags.max_clock_skew_seconds is None else flags.max_clock_skew_seconds
    return SignedBearerToken(secret, issuer=flags.issuer, audience=flags.audience, leeway=skew)
