"""model/list params (upstream's v2 ModelListParams)."""

from __future__ import annotations

from server.protocol.base import U32, WireModel


class ModelListParams(WireModel):
    cursor: str | None = None
    include_hidden: bool | None = None
    limit: U32 | None = None
