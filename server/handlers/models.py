"""model/list: a thin adapter over server.models.catalog."""

from __future__ import annotations

from typing import Any

from server.auth.manager import auth_manager
from server.auth.storage import AuthFileError
from server.config import effective_config
from server.handlers.registry import method
from server.models import catalog
from server.protocol.models import ModelListParams
from server.session import Session


def _api_key(session: Session) -> str | None:
    try:
        auth = auth_manager(session.server).current()
    except AuthFileError:
        return None
    return auth.api_key if auth is not None else None


@method("model/list", ModelListParams)
async def list_models(session: Session, params: ModelListParams) -> dict[str, Any]:
    models = await catalog.load(effective_config(session.server), _api_key(session))
    page = catalog.page(models, include_hidden=bool(params.include_hidden), cursor=params.cursor, limit=params.limit)
    return {"data": page.data, "nextCursor": page.next_cursor}
