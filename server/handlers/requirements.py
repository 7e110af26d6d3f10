"""configRequirements/read: a thin adapter over server.config.requirements."""

from __future__ import annotations

import asyncio
from typing import Any

from server.config import requirements
from server.handlers.registry import method
from server.protocol.base import UnitParams
from server.session import Session


@method("configRequirements/read", UnitParams)
async def read_requirements(session: Session, params: None) -> dict[str, Any]:
    # Upstream reports that its thread settings accept a speed mode independent of the model.
    return {"supportsIndependentSpeedModes": True, "requirements": await asyncio.to_thread(requirements.read)}
