"""config/read, in a module of its own: editors read the config first, and this module, unlike
server.handlers.config, loads neither pydantic (params go through server.protocol.plain) nor tomlkit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.config import effective_config
from server.config.reviewer import SPELLINGS
from server.handlers.registry import method
from server.protocol.errors import InternalError
from server.protocol.plain import is_bool, is_str_or_null, plain_parser
from server.session import Session


@dataclass(frozen=True, slots=True)
class ConfigReadParams:
    cwd: str | None = None
    include_layers: bool = False


def reported(tree: dict[str, Any]) -> dict[str, Any]:
    """The legacy reviewer spelling reads back as the current one, at top level and in profiles."""
    scopes = [tree, *(profile for profile in (tree.get("profiles") or {}).values() if isinstance(profile, dict))]
    for scope in scopes:
        value = scope.get("approvals_reviewer")
        if isinstance(value, str) and value in SPELLINGS:
            scope["approvals_reviewer"] = SPELLINGS[value]
    return tree


parse_params = plain_parser(
    "config/read",
    ConfigReadParams,
    "server.protocol.config:ConfigReadParams",
    {},
    {"cwd": is_str_or_null, "includeLayers": is_bool},
)


@method("config/read", parse_params)
async def read(session: Session, params: ConfigReadParams) -> dict[str, Any]:
    """The effective config, where each value comes from, and (on request) every layer."""
    cwd = Path(params.cwd) if params.cwd else None
    config = await asyncio.to_thread(effective_config, session.server, cwd)
    if config.problem is not None:
        raise InternalError(config.problem.read_message)
    result: dict[str, Any] = {"config": reported(config.tree()), "origins": config.origins()}
    if params.include_layers:
        result["layers"] = [layer.wire() for layer in config.layers]
    return result
