"""marketplace/add, marketplace/remove, marketplace/upgrade: thin adapters over server.plugins.sources."""

from __future__ import annotations

import asyncio
from typing import Any

from server.config import effective_config
from server.config.writer import Edit, write
from server.handlers.registry import method
from server.plugins import sources
from server.protocol.errors import InvalidRequest
from server.protocol.marketplaces import MarketplaceAddParams, MarketplaceRemoveParams, MarketplaceUpgradeParams
from server.session import ServerContext, Session


def configured(server: ServerContext) -> dict[str, Any]:
    table = effective_config(server).get("marketplaces")
    return dict(table) if isinstance(table, dict) else {}


def record(server: ServerContext, name: str, value: dict[str, Any] | None) -> None:
    write(server, [Edit.at(("marketplaces", name), value)], file_path=None, expected_version=None)


@method("marketplace/add", MarketplaceAddParams)
async def add_marketplace(session: Session, params: MarketplaceAddParams) -> dict[str, Any]:
    server = session.server
    source = sources.classify(params.source)
    added = await asyncio.to_thread(sources.add, server.codex_home, source, params.ref_name, configured(server))
    if added.record is not None:
        await asyncio.to_thread(record, server, added.name, added.record)
    return {"marketplaceName": added.name, "installedRoot": str(added.root), "alreadyAdded": added.already}


@method("marketplace/remove", MarketplaceRemoveParams)
async def remove_marketplace(session: Session, params: MarketplaceRemoveParams) -> dict[str, Any]:
    server = session.server
    name = params.marketplace_name
    entry = sources.configured(configured(server), name)
    root = await asyncio.to_thread(sources.remove, server.codex_home, name, entry)
    if entry is not None:
        await asyncio.to_thread(record, server, name, None)
    return {"marketplaceName": name, "installedRoot": None if root is None else str(root)}


@method("marketplace/upgrade", MarketplaceUpgradeParams)
async def upgrade_marketplaces(session: Session, params: MarketplaceUpgradeParams) -> dict[str, Any]:
    server = session.server
    table = configured(server)
    git_backed = {
        name: entry for name, entry in table.items() if isinstance(entry, dict) and entry.get("source_type") == "git"
    }
    if params.marketplace_name is not None:
        if params.marketplace_name not in git_backed:
            raise InvalidRequest(f"marketplace `{params.marketplace_name}` is not configured as a Git marketplace")
        git_backed = {params.marketplace_name: git_backed[params.marketplace_name]}
    upgraded, errors = [], []
    for name, entry in git_backed.items():
        root = sources.marketplaces_root(server.codex_home) / name
        try:
            if await asyncio.to_thread(sources.upgrade, root, entry):
                upgraded.append(str(root))
        except InvalidRequest as exc:
            errors.append({"marketplaceName": name, "message": exc.message})
    return {"selectedMarketplaces": list(git_backed), "upgradedRoots": upgraded, "errors": errors}
