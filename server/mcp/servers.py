"""The `[mcp_servers.<name>]` tables of the effective config, as the launcher needs them.

A server is either launched (`command`, `args`, `env`, `cwd`: the MCP stdio transport) or reached at a `url`
(streamable HTTP). `enabled = false` keeps it declared but never started. `startup_timeout_sec` (or
`startup_timeout_ms`) bounds the handshake; upstream's default is 10 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from server.config import Config

DEFAULT_STARTUP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class McpServer:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    enabled: bool = True
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_SECONDS
    bearer_token_env_var: str | None = None

    @property
    def http_origin(self) -> str | None:
        """`scheme://host[:port]` of the endpoint (no credentials, path or query); None for stdio servers."""
        if self.url is None:
            return None
        parts = urlsplit(self.url)
        if not parts.scheme or not parts.hostname:
            return None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        port = f":{parts.port}" if parts.port is not None else ""
        return f"{parts.scheme}://{host}{port}"


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _timeout(table: dict[str, Any]) -> float:
    seconds = table.get("startup_timeout_sec")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return float(seconds)
    millis = table.get("startup_timeout_ms")
    if isinstance(millis, int) and not isinstance(millis, bool) and millis > 0:
        return millis / 1000
    return DEFAULT_STARTUP_TIMEOUT_SECONDS


def declared(config: Config) -> list[McpServer]:
    """Every declared server, sorted by name as upstream lists them."""
    tables = config.get("mcp_servers")
    if not isinstance(tables, dict):
        return []
    servers = []
    for name, table in tables.items():
        if not isinstance(table, dict):
            continue
        env = table.get("env")
        servers.append(
            McpServer(
                name=str(name),
                command=table["command"] if isinstance(table.get("command"), str) else None,
                args=_strings(table.get("args")),
                env={str(key): str(value) for key, value in env.items()} if isinstance(env, dict) else {},
                cwd=table["cwd"] if isinstance(table.get("cwd"), str) else None,
                url=table["url"] if isinstance(table.get("url"), str) else None,
                enabled=table.get("enabled") is not False,
                startup_timeout=_timeout(table),
                bearer_token_env_var=table.get("bearer_token_env_var")
                if isinstance(table.get("bearer_token_env_var"), str)
                else None,
            )
        )
    return sorted(servers, key=lambda server: server.name)
