"""Browser login: OAuth 2.0 authorization code with PKCE (RFC 7636, S256) and a loopback redirect (RFC 8252).

`start()` binds the callback server on 127.0.0.1 and returns the authorize URL. The browser comes back to
`/auth/callback?code&state`; the state is compared in constant time, the code exchanged with our verifier,
the tokens stored, and only then does the page say "signed in". `GET /cancel` ends the login; a new login
that finds the port taken sends exactly that request first, so a forgotten login in another codex process
gives way (upstream does the same), then falls back to the second registered port.

The server is a few lines of asyncio on purpose: it answers one kind of GET, reads at most `MAX_REQUEST`
bytes with a deadline, and closes after each answer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import hashlib
import html
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from server.auth import issuer
from server.auth.logins import Login
from server.auth.manager import log
from server.protocol.errors import InternalError

SCOPE = "openid profile email offline_access api.connectors.read api.connectors.invoke"
MAX_REQUEST = 16 * 1024
REQUEST_DEADLINE_SECONDS = 10.0
BIND_ATTEMPTS = 10
BIND_RETRY_SECONDS = 0.2
"""Per port: 10 tries 200 ms apart after asking the holder to cancel, like upstream, before the next port."""


@dataclass(frozen=True)
class Page:
    status: int
    reason: str
    body: str
    content_type: str = "text/plain; charset=utf-8"


NOT_FOUND = Page(404, "Not Found", "Not Found")


def _html(title: str, message: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )


def error_page(message: str, status: int = 200, reason: str = "OK") -> Page:
    return Page(status, reason, _html("Codex Sign-in Error", message), "text/html; charset=utf-8")


SUCCESS_PAGE = Page(
    200, "OK", _html("Signed in to Codex", "You may close this window and return to Codex."), "text/html; charset=utf-8"
)


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 64 random bytes, base64url without padding (RFC 7636 4.1, 4.2)."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode("ascii")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    return verifier, challenge.decode("ascii")


def _ask_to_cancel(port: int) -> None:
    """Best effort: a codex login server holding the port ends its login and frees it."""
    import requests  # lazy like in server.auth.issuer

    with contextlib.suppress(requests.RequestException):
        requests.get(f"http://127.0.0.1:{port}/cancel", timeout=2.0)


class BrowserLogin(Login):
    error_prefix = "Login server error: "
    replaced_message = "Login cancelled"

    _server: asyncio.Server | None = None

    async def start(self, originator: str) -> str:
        """Bind the callback server; returns the authorize URL for the client to open."""
        self._verifier, challenge = pkce_pair()
        self._state = secrets.token_urlsafe(32)
        self._server = await self._bind()
        port = self._server.sockets[0].getsockname()[1]
        self.redirect_uri = f"http://127.0.0.1:{port}/auth/callback"
        query = {
            "response_type": "code",
            "client_id": self.endpoints.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": self._state,
            "scope": SCOPE,
            "id_token_add_organizations": "true",
            "codex_cli_simplified_flow": "true",
            "originator": originator,
        }
        return f"{self.endpoints.authorize_url}?{urlencode(query)}"

    async def _bind(self) -> asyncio.Server:
        for port in self.endpoints.callback_ports:
            for attempt in range(BIND_ATTEMPTS if port else 1):
                try:
                    return await asyncio.start_server(self._serve, "127.0.0.1", port, limit=MAX_REQUEST)
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise InternalError(f"failed to start the login callback server: {exc}") from None
                if attempt == 0:
                    await asyncio.to_thread(_ask_to_cancel, port)
                await asyncio.sleep(BIND_RETRY_SECONDS)
            log(f"login callback port {port} is unavailable")
        ports = ", ".join(str(port) for port in self.endpoints.callback_ports)
        raise InternalError(f"failed to start the login callback server: port(s) {ports} on 127.0.0.1 are in use")

    async def _release(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # stops listening now; the connection answering the browser finishes on its own

    # -- HTTP ----------------------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_DEADLINE_SECONDS)
            page = await self._route(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            page = Page(400, "Bad Request", "Bad Request")
        except Exception as exc:  # never let a callback die without an answer or a completed login
            log(f"browser login {self.login_id} callback failed unexpectedly: {type(exc).__name__}")
            await self.fail(f"internal error ({type(exc).__name__})")
            page = error_page("Sign-in could not be completed. See the Codex log.", 500, "Internal Server Error")
        body = page.body.encode("utf-8")
        header = (
            f"HTTP/1.1 {page.status} {page.reason}\r\ncontent-type: {page.content_type}\r\n"
            f"content-length: {len(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n"
        )
        try:
            writer.write(header.encode("ascii") + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _route(self, head: bytes) -> Page:
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        if len(parts) != 3 or parts[0] != "GET":
            return NOT_FOUND
        target = urlsplit(parts[1])
        query = {key: values[0] for key, values in parse_qs(target.query).items()}
        if target.path == "/auth/callback":
            return await self._callback(query)
        if target.path == "/cancel":
            await self.cancel("Login cancelled")
            return Page(200, "OK", "Login cancelled")
        return NOT_FOUND

    async def _callback(self, query: dict[str, str]) -> Page:
        if self.finished:
            return error_page("This sign-in has already finished. Start a new one from Codex.", 410, "Gone")
        if not secrets.compare_digest(query.get("state", "").encode(), self._state.encode()):
            await self.fail("State mismatch: the sign-in response does not belong to this login")
            return Page(400, "Bad Request", "State mismatch")
        if "error" in query:
            message = f"Sign-in failed: {query.get('error_description') or query['error']}"
            await self.fail(message)
            return error_page(message)
        code = query.get("code")
        if not code:
            await self.fail("Missing authorization code. Sign-in could not be completed.")
            return Page(400, "Bad Request", "Missing authorization code. Sign-in could not be completed.")
        try:
            tokens = await asyncio.to_thread(
                issuer.exchange_code, self.endpoints, code, self._verifier, self.redirect_uri
            )
        except issuer.IssuerError as exc:
            log(f"browser login {self.login_id} failed: {exc}")
            await self.fail(str(exc))
            return error_page(str(exc))
        if await self.succeed(tokens):
            return SUCCESS_PAGE
        return error_page("Sign-in completed but credentials could not be saved locally. See the Codex log.")
