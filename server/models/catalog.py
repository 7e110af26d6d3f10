"""The model catalog behind `model/list`: where it comes from, and how an entry looks on the wire.

Entries use upstream's catalog format (the `{"models": [ModelInfo, ...]}` document a provider serves at its
`model_catalog_url` and that `model_catalog_json` points at), so one parser reads all three sources, in
the order upstream 0.163 was measured to use them:

1. `model_catalog_json` (a file path): unreadable or invalid files fall back to the built-in catalog;
2. the active provider's `model_catalog_url` (`[model_providers.<id>]`): fetched on each call with
   `?client_version=`; any failure gives an empty list, as upstream answers then;
3. otherwise the catalog built into upstream 0.163 (`builtin_catalog.json`, the wire-relevant fields of
   the `models.json` bundled in that binary).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from server.config import Config
from server.protocol.errors import InvalidRequest

CLIENT_VERSION = "0.163.0"
"""Sent as `client_version` when fetching a provider's catalog: the upstream version we are compatible with."""
FETCH_TIMEOUT_SECONDS = 10.0
MAX_CATALOG_BYTES = 8 * 1024 * 1024
"""Largest catalog we read; upstream's own bundled catalog is 0.5 MB."""
BUILTIN = Path(__file__).with_name("builtin_catalog.json")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReasoningLevel(_Entry):
    effort: str
    description: str


class Upgrade(_Entry):
    model: str
    migration_markdown: str | None = None
    upgrade_copy: str | None = None
    model_link: str | None = None
    retirement_at: Any = None


class ModelInfo(_Entry):
    """One catalog entry: the fields `model/list` reports (the format has many more, read by turns)."""

    slug: str
    display_name: str
    description: str
    default_reasoning_level: str
    supported_reasoning_levels: list[ReasoningLevel]
    visibility: Literal["list", "hide", "none"]
    priority: int
    upgrade: Upgrade | None = None
    availability_nux: dict[str, Any] | None = None
    input_modalities: list[str] = ["text", "image"]
    service_tiers: list[dict[str, Any]] = []
    additional_speed_tiers: list[str] = []
    default_service_tier: str | None = None
    model_specialty: str | None = None
    multi_agent_version: str | None = None
    available_access_programs: dict[str, Any] | None = None


class Catalog(BaseModel):
    models: list[ModelInfo]


class CatalogError(Exception):
    """A catalog source that could not be read or parsed."""


def parse(data: bytes | str) -> list[ModelInfo]:
    try:
        return Catalog.model_validate_json(data).models
    except ValidationError as exc:
        raise CatalogError(f"invalid model catalog: {exc.error_count()} errors") from None


@cache
def builtin() -> tuple[ModelInfo, ...]:
    return tuple(parse(BUILTIN.read_bytes()))


@dataclass(frozen=True)
class CatalogSource:
    """Where this config says the catalog comes from (resolved from config, no I/O)."""

    json_path: Path | None
    url: str | None


def source(config: Config) -> CatalogSource:
    path = config.get("model_catalog_json")
    provider_id = config.get("model_provider") or "openai"
    providers = config.get("model_providers")
    provider = providers.get(provider_id) if isinstance(providers, dict) else None
    url = provider.get("model_catalog_url") if isinstance(provider, dict) else None
    return CatalogSource(
        Path(path).expanduser() if isinstance(path, str) and path else None,
        url if isinstance(url, str) and url else None,
    )


async def fetch(url: str, api_key: str | None) -> list[ModelInfo]:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client,
            client.stream("GET", url, params={"client_version": CLIENT_VERSION}, headers=headers) as response,
        ):
            if response.status_code != 200:
                raise CatalogError(f"model catalog {url} answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_CATALOG_BYTES:
                    raise CatalogError(f"model catalog {url} is larger than {MAX_CATALOG_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise CatalogError(f"model catalog {url}: {exc}") from None
    return parse(bytes(body))


async def load(config: Config, api_key: str | None) -> list[ModelInfo]:
    """The catalog for this config, sorted by priority (upstream's order)."""
    where = source(config)
    models: list[ModelInfo]
    if where.json_path is not None:
        try:
            models = parse(where.json_path.read_bytes())
        except (OSError, CatalogError):
            models = list(builtin())
    elif where.url is not None:
        try:
            models = await fetch(where.url, api_key)
        except CatalogError:
            models = []
    else:
        models = list(builtin())
    return sorted(models, key=lambda model: model.priority)


def to_wire(model: ModelInfo, *, is_default: bool) -> dict[str, Any]:
    """A `Model` of upstream's ModelListResponse, keys in upstream's order."""
    upgrade = model.upgrade
    return {
        "id": model.slug,
        "model": model.slug,
        "upgrade": upgrade.model if upgrade else None,
        "upgradeInfo": None
        if upgrade is None
        else {
            "model": upgrade.model,
            "upgradeCopy": upgrade.upgrade_copy,
            "modelLink": upgrade.model_link,
            "migrationMarkdown": upgrade.migration_markdown,
            "retirementAt": upgrade.retirement_at,
        },
        "availabilityNux": model.availability_nux,
        "displayName": model.display_name,
        "description": model.description,
        "modelSpecialty": model.model_specialty,
        "hidden": model.visibility != "list",
        "supportedReasoningEfforts": [
            {"reasoningEffort": level.effort, "description": level.description}
            for level in model.supported_reasoning_levels
        ],
        "defaultReasoningEffort": model.default_reasoning_level,
        "inputModalities": model.input_modalities,
        "supportsPersonality": False,
        "multiAgentVersion": model.multi_agent_version,
        "additionalSpeedTiers": model.additional_speed_tiers,
        "serviceTiers": model.service_tiers,
        "defaultServiceTier": model.default_service_tier,
        "availableAccessPrograms": model.available_access_programs,
        "isDefault": is_default,
    }


class CursorError(InvalidRequest):
    """A cursor that is not one of ours (upstream: "invalid cursor: X") or past the end."""


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None


def page(models: list[ModelInfo], *, include_hidden: bool, cursor: str | None, limit: int | None) -> Page:
    """One page of the listing. The cursor is the index of the next entry, as upstream's is."""
    listed = [model for model in models if include_hidden or model.visibility == "list"]
    default = next((model.slug for model in listed if model.visibility == "list"), None)
    start = 0
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()):
            raise CursorError(f"invalid cursor: {cursor}")
        start = int(cursor)
        if start > len(listed):
            raise CursorError(f"cursor {start} exceeds total models {len(listed)}")
    size = len(listed) if limit is None else max(1, limit)
    end = min(len(listed), start + size)
    data = [to_wire(model, is_default=model.slug == default) for model in listed[start:end]]
    return Page(data, str(end) if end < len(listed) else None)
