"""`--listen ws://IP:PORT`: parsing, loopback detection and the start-up banner.

Kept apart from the websocket transport so the command line can validate the address (and fail fast with
upstream's wording) without importing the websockets library.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


class ListenUrlError(ValueError):
    """The --listen value is not one we serve; the message is upstream's one-line wording."""


@dataclass(frozen=True)
class ListenAddress:
    host: str
    """An IP literal, never a name: upstream refuses names so what is bound is exactly what was asked."""
    port: int

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.host)

    @property
    def is_loopback(self) -> bool:
        return self.ip.is_loopback

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if self.ip.version == 6 else self.host
        return f"{host}:{self.port}"


def parse_ws_url(url: str) -> ListenAddress:
    """`ws://127.0.0.1:0` or `ws://[::1]:8080` -> ListenAddress; anything else -> ListenUrlError."""
    invalid = ListenUrlError(f"invalid websocket --listen URL `{url}`; expected `ws://IP:PORT`")
    rest = url.removeprefix("ws://")
    host, sep, port_text = rest.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise invalid
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        ip = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        raise invalid from None
    if (ip.version == 6) != bracketed:  # RFC 3986: IPv6 literals, and only they, go in brackets
        raise invalid
    return ListenAddress(str(ip), int(port_text))


LOOPBACK_NOTE = "binds localhost only (use SSH port-forwarding for remote access)"
REMOTE_AUTH_NOTE = "reachable from other hosts; clients must send `Authorization: Bearer <token>`"
REMOTE_NO_AUTH_NOTE = (
    "reachable from other hosts WITHOUT authentication; configure `--ws-auth capability-token` or "
    "`--ws-auth signed-bearer-token` before real remote use"
)


def banner(bound: ListenAddress, *, authenticated: bool) -> str:
    """Upstream's stderr banner, line for line, so scripts that scrape the bound port work with either server."""
    note = LOOPBACK_NOTE if bound.is_loopback else REMOTE_AUTH_NOTE if authenticated else REMOTE_NO_AUTH_NOTE
    return "\n".join(
        [
            "codex app-server (WebSockets)",
            f"  listening on: ws://{bound.authority}",
            f"  readyz: http://{bound.authority}/readyz",
            f"  healthz: http://{bound.authority}/healthz",
            f"  note: {note}",
        ]
    )


def unauthenticated_remote_warning(address: ListenAddress) -> str:
    return (
        f"warning: listening on non-loopback address {address.authority} without --ws-auth; anyone who can "
        "reach it can drive this server (read files, run tools)"
    )
