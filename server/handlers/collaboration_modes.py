"""collaborationMode/list: a thin adapter over server.models.collaboration_modes."""

from __future__ import annotations

from typing import Any

from server.handlers.registry import method
from server.models import collaboration_modes
from server.protocol.collaboration_modes import CollaborationModeListParams
from server.session import Session


@method("collaborationMode/list", CollaborationModeListParams, experimental=True)
async def list_collaboration_modes(session: Session, params: CollaborationModeListParams) -> dict[str, Any]:
    return {"data": collaboration_modes.presets()}
