"""collaborationMode/list params (upstream's v2 CollaborationModeListParams: an object with no fields)."""

from __future__ import annotations

from server.protocol.base import WireModel


class CollaborationModeListParams(WireModel):
    pass
