"""Params of hooks/list (upstream schema: HooksListParams)."""

from __future__ import annotations

from pydantic import Field

from server.protocol.base import WireModel


class HooksListParams(WireModel):
    cwds: list[str] = Field(default_factory=list)
