"""externalAgentConfig/detect and externalAgentConfig/import: thin adapters over server.external_agent.

An import answers with its id first; its `externalAgentConfig/import/progress` notifications (one per item)
and the final `externalAgentConfig/import/completed` follow the response, as upstream sends them.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from server import external_agent
from server.handlers.registry import method
from server.protocol.external_agent import ExternalAgentConfigDetectParams, ExternalAgentConfigImportParams
from server.session import Session


def _home(session: Session) -> Path | None:
    home = session.server.environ.get("HOME")
    return Path(home) if home and os.path.isabs(home) else None


@method("externalAgentConfig/detect", ExternalAgentConfigDetectParams)
async def detect(session: Session, params: ExternalAgentConfigDetectParams) -> dict[str, Any]:
    scopes = []
    home = _home(session)
    if params.include_home and home is not None:
        scopes.append(external_agent.Scope.home(home, session.server.codex_home))
    scopes += [external_agent.Scope.repository(Path(cwd)) for cwd in params.cwds or [] if os.path.isabs(cwd)]
    items = []
    for scope in scopes:
        items += await asyncio.to_thread(external_agent.detect, scope)
    return {"items": items, "connectors": []}


@method("externalAgentConfig/import", ExternalAgentConfigImportParams)
async def import_config(session: Session, params: ExternalAgentConfigImportParams) -> dict[str, Any]:
    import_id = external_agent.new_import_id()
    home = _home(session) or Path(session.server.codex_home).parent
    results = []
    for item in params.migration_items:
        wire = item.model_dump(by_alias=True)
        result = await asyncio.to_thread(external_agent.import_item, wire, home, session.server.codex_home)
        results.append(result)
        session.notify("externalAgentConfig/import/progress", {"importId": import_id, "itemTypeResults": [result]})
    completed = {"importId": import_id, "itemTypeResults": external_agent.grouped(results)}
    session.notify("externalAgentConfig/import/completed", completed)
    return {"importId": import_id}
