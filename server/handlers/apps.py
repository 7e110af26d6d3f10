"""app/list: apps (connectors) as upstream lists them.

Upstream 0.163 fetches apps from the ChatGPT backend's connector directory; without a ChatGPT login (and in
every offline setup we can measure) it answers an empty page, which is what ours answers.
"""

from __future__ import annotations

from typing import Any

from server.handlers.registry import method
from server.protocol.base import WireModel
from server.session import Session


class AppsListParams(WireModel):
    cursor: str | None = None
    limit: int | None = None
    thread_id: str | None = None
    force_refetch: bool = False


@method("app/list", AppsListParams)
async def list_apps(session: Session, params: AppsListParams) -> dict[str, Any]:
    return {"data": [], "nextCursor": None}
