"""mcpServerStatus/list and config/mcpServer/reload: thin adapters over server.mcp."""

from __future__ import annotations

from typing import Any

from server.config import effective_config
from server.handlers.registry import method
from server.mcp import servers, status
from server.protocol.base import UnitParams
from server.protocol.errors import InvalidRequest
from server.protocol.mcp import ListMcpServerStatusParams
from server.session import Session


def _check_thread(session: Session, thread_id: str) -> None:
    """Upstream reuses a loaded thread's MCP connections; an id of no loaded thread is refused."""
    from server.threads import surface  # only here: the thread machinery is heavy and rarely needed
    from server.threads.service import thread_service

    surface.check_thread_id(thread_id)
    if thread_id not in thread_service(session.server).store.loaded:
        raise InvalidRequest(f"thread not found: {thread_id}")


@method("mcpServerStatus/list", ListMcpServerStatusParams)
async def list_mcp_server_status(session: Session, params: ListMcpServerStatusParams) -> dict[str, Any]:
    if params.thread_id is not None:
        _check_thread(session, params.thread_id)
    declared = servers.declared(effective_config(session.server))
    if params.server_name is not None:
        declared = [server for server in declared if server.name == params.server_name]
    page = await status.list_page(
        declared, cursor=params.cursor, limit=params.limit, with_resources=params.detail != "toolsAndAuthOnly"
    )
    return {"data": page.data, "nextCursor": page.next_cursor}


@method("config/mcpServer/reload", UnitParams)
async def reload_mcp_servers(session: Session, params: None) -> dict[str, Any]:
    # Every listing re-reads config.toml and starts its servers afresh, and no thread keeps MCP connections
    # here, so there is nothing cached to drop: the next listing already sees the file of the moment.
    return {}
