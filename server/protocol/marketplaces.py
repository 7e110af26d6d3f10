"""Wire models of marketplace/* params (upstream schema: MarketplaceAddParams, ...RemoveParams, ...UpgradeParams)."""

from __future__ import annotations

from server.protocol.base import WireModel


class MarketplaceAddParams(WireModel):
    source: str
    ref_name: str | None = None
    sparse_paths: list[str] | None = None


class MarketplaceRemoveParams(WireModel):
    marketplace_name: str


class MarketplaceUpgradeParams(WireModel):
    marketplace_name: str | None = None
