"""skills/list and skills/config/write: thin adapters over server.plugins.skills and the config writer."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from server.config import effective_config
from server.config.layers import Layer
from server.config.writer import Edit, write
from server.handlers.registry import method
from server.plugins.skills import list_skills, toggled
from server.protocol.errors import RpcError
from server.protocol.skills import SkillsConfigWriteParams, SkillsListParams
from server.session import Session

INVALID_PARAMS = -32602


def config_entries(values: dict[str, Any]) -> list[Any]:
    skills = values.get("skills")
    entries = skills.get("config") if isinstance(skills, dict) else None
    return list(entries) if isinstance(entries, list) else []


@method("skills/list", SkillsListParams)
async def list_skill_dirs(session: Session, params: SkillsListParams) -> dict[str, Any]:
    server = session.server
    data = []
    for cwd in params.cwds or [os.getcwd()]:
        config = effective_config(server, Path(cwd))
        entries = config_entries({"skills": config.get("skills")})
        listing = await asyncio.to_thread(
            list_skills, Path(cwd), server.environ.get("HOME"), server.codex_home, entries
        )
        data.append({"cwd": cwd, "skills": listing.skills, "errors": listing.errors})
    return {"data": data}


@method("skills/config/write", SkillsConfigWriteParams)
async def write_skill_config(session: Session, params: SkillsConfigWriteParams) -> dict[str, Any]:
    if (params.name is None) == (params.path is None):
        raise RpcError("skills/config/write requires exactly one of path or name", code=INVALID_PARAMS)
    selector = {"name": params.name} if params.name is not None else {"path": str(params.path)}
    server = session.server
    user: Layer | None = next(
        (
            layer
            for layer in effective_config(server).applied()
            if layer.source.get("type") == "user" and not layer.source.get("profile")
        ),
        None,
    )
    entries = toggled(config_entries(user.values if user else {}), selector, params.enabled)
    edit = Edit.at(("skills", "config"), entries or None)
    await asyncio.to_thread(write, server, [edit], file_path=None, expected_version=None)
    return {"effectiveEnabled": params.enabled}
