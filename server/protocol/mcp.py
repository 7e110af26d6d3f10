"""mcpServerStatus/list params (upstream's v2 ListMcpServerStatusParams)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from server.protocol.base import U32, WireModel


class ListMcpServerStatusParams(WireModel):
    # Strict like serde: "5" is not a number.
    model_config = ConfigDict(**WireModel.model_config, strict=True)

    cursor: str | None = None
    detail: Literal["full", "toolsAndAuthOnly"] | None = None
    limit: U32 | None = None
    server_name: str | None = None
    thread_id: str | None = None
