"""Wire models of skills/* params (upstream schema: SkillsListParams, SkillsConfigWriteParams)."""

from __future__ import annotations

from server.protocol.base import WireModel


class SkillsListParams(WireModel):
    cwds: list[str] | None = None
    force_reload: bool = False


class SkillsConfigWriteParams(WireModel):
    enabled: bool
    name: str | None = None
    path: str | None = None
