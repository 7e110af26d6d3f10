"""`mcpServerStatus/list`: each declared server started, asked for its inventory and stopped, as upstream does.

Upstream re-reads the declarations and starts the servers afresh on every call (a changed config.toml shows
at once), lists them sorted by name, pages them with the index of the next entry as cursor, and reports a
server that cannot start with empty tools and `toolsError: "MCP startup failed: ..."`. A disabled server is
listed without being started. `runtimeStatus` is null: no thread owns these connections.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from server.mcp import client
from server.mcp.servers import McpServer
from server.protocol.errors import InvalidRequest

TOOL_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations", "icons", "_meta")
"""upstream's `Tool` fields, in its order; the ones a server leaves out stay out."""


class CursorError(InvalidRequest):
    """A cursor that is not one of ours or past the end (upstream's -32600 and wording)."""


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None


def _auth_status(server: McpServer) -> str:
    if server.url is None:
        return "unsupported"
    return "bearerToken" if server.bearer_token_env_var else "unknown"


def _server_info(raw: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(raw.get("name"), str):
        return None
    return {
        "name": raw["name"],
        "title": raw.get("title"),
        "version": str(raw.get("version", "")),
        "description": raw.get("description"),
        "icons": raw.get("icons"),
        "websiteUrl": raw.get("websiteUrl"),
    }


def _tool(raw: dict[str, Any]) -> dict[str, Any]:
    tool = {key: raw[key] for key in TOOL_FIELDS if key in raw}
    tool.setdefault("inputSchema", {"type": "object"})
    return tool


def status(server: McpServer, found: client.Inventory | None, error: str | None) -> dict[str, Any]:
    """One `McpServerStatus`: `found` for a server that answered, `error` for one that did not."""
    tools = (
        {}
        if found is None
        else {tool["name"]: _tool(tool) for tool in found.tools if isinstance(tool.get("name"), str)}
    )
    return {
        "name": server.name,
        "runtimeStatus": None,
        "pluginId": None,
        "httpOrigin": server.http_origin,
        "serverInfo": _server_info(found.server_info) if found is not None else None,
        "serverCapabilities": found.capabilities if found is not None else None,
        "tools": tools,
        "toolsError": error if found is None else found.tools_error,
        "resources": found.resources if found is not None else [],
        "resourceTemplates": found.resource_templates if found is not None else [],
        "authStatus": _auth_status(server),
    }


async def probe(server: McpServer, *, with_resources: bool) -> dict[str, Any]:
    if not server.enabled:
        return status(server, None, None)
    try:
        found = await client.inventory(server, with_resources=with_resources)
    except client.McpStartupError as exc:
        return status(server, None, f"MCP startup failed: {exc}")
    return status(server, found, None)


def window(total: int, cursor: str | None, limit: int | None) -> tuple[int, int]:
    """The [start, end) of the page; the cursor is the index of the next entry, as upstream's is."""
    start = 0
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()):
            raise CursorError(f"invalid cursor: {cursor}")
        start = int(cursor)
        if start > total:
            raise CursorError(f"cursor {start} exceeds total MCP servers {total}")
    size = total if limit is None else max(1, limit)
    return start, min(total, start + size)


async def list_page(servers: list[McpServer], *, cursor: str | None, limit: int | None, with_resources: bool) -> Page:
    """One page of statuses; only the servers on the page are started (all at once)."""
    start, end = window(len(servers), cursor, limit)
    data = await asyncio.gather(*(probe(server, with_resources=with_resources) for server in servers[start:end]))
    return Page(list(data), str(end) if end < len(servers) else None)
