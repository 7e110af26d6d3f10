"""hooks/list: every hook for each working directory, with its trust state."""

from __future__ import annotations

import os
from typing import Any

from server.config import effective_config
from server.handlers.registry import method
from server.protocol.hooks import HooksListParams
from server.session import Session
from server.threads import hooks


@method("hooks/list", HooksListParams)
async def hooks_list(session: Session, params: HooksListParams) -> dict[str, Any]:
    config = effective_config(session.server)
    data = []
    for cwd in params.cwds or [os.getcwd()]:
        found = hooks.discover(session.server.codex_home, config, cwd)
        data.append(
            {
                "cwd": cwd,
                "hooks": [hooks.metadata(hook, config) for hook in found.hooks],
                "warnings": found.warnings,
                "errors": [{"path": cwd, "message": message} for message in found.errors],
            }
        )
    return {"data": data}
