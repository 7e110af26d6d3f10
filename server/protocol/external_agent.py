"""externalAgentConfig/detect and /import params (upstream's v2 ExternalAgentConfig* types)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from server.protocol.base import U32, WireModel

ItemType = Literal[
    "AGENTS_MD",
    "CONFIG",
    "SKILLS",
    "PLUGINS",
    "MCP_SERVER_CONFIG",
    "SUBAGENTS",
    "HOOKS",
    "COMMANDS",
    "MEMORY",
    "SESSIONS",
]


class ExternalAgentConfigDetectParams(WireModel):
    # Strict like serde: "x" is not a sequence and "yes" is not a boolean.
    model_config = ConfigDict(**WireModel.model_config, strict=True)

    cwds: list[str] | None = None
    include_home: bool = False
    max_session_age_days: U32 | None = None
    max_sessions: U32 | None = None
    migration_source: str | None = None
    source: str | None = None


class MigrationItem(WireModel):
    model_config = ConfigDict(**WireModel.model_config, strict=True)

    item_type: ItemType
    description: str
    cwd: str | None = None
    details: dict[str, Any] | None = None


class ExternalAgentConfigImportParams(WireModel):
    model_config = ConfigDict(**WireModel.model_config, strict=True)

    migration_items: list[MigrationItem]
    migration_source: str | None = None
    provider_id: str | None = None
    source: str | None = None
