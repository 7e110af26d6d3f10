"""config/* and experimentalFeature/list: thin adapters over the resolver (server.config)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from server.config import effective_config
from server.config.features import listing, set_runtime
from server.config.reviewer import SPELLINGS
from server.config.writer import Edit, WriteOutcome, write
from server.handlers.registry import method
from server.protocol.config import (
    ConfigBatchWriteParams,
    ConfigReadParams,
    ConfigValueWriteParams,
    ConfigWriteResponse,
    ExperimentalFeatureEnablementSetParams,
    ExperimentalFeatureEnablementSetResponse,
    ExperimentalFeatureListParams,
)
from server.protocol.errors import InternalError, InvalidRequest
from server.session import Session


def reported(tree: dict[str, Any]) -> dict[str, Any]:
    """The legacy reviewer spelling reads back as the current one, at top level and in profiles."""
    scopes = [tree, *(profile for profile in (tree.get("profiles") or {}).values() if isinstance(profile, dict))]
    for scope in scopes:
        value = scope.get("approvals_reviewer")
        if isinstance(value, str) and value in SPELLINGS:
            scope["approvals_reviewer"] = SPELLINGS[value]
    return tree


@method("config/read", ConfigReadParams)
async def read(session: Session, params: ConfigReadParams) -> dict[str, Any]:
    """The effective config, where each value comes from, and (on request) every layer."""
    cwd = Path(params.cwd) if params.cwd else None
    config = await asyncio.to_thread(effective_config, session.server, cwd)
    if config.problem is not None:
        raise InternalError(config.problem.read_message)
    result: dict[str, Any] = {"config": reported(config.tree()), "origins": config.origins()}
    if params.include_layers:
        result["layers"] = [layer.wire() for layer in config.layers]
    return result


def response(outcome: WriteOutcome) -> ConfigWriteResponse:
    return ConfigWriteResponse(
        status="okOverridden" if outcome.overridden else "ok",
        version=outcome.version,
        file_path=str(outcome.path),
        overridden_metadata=outcome.overridden,
    )


@method("config/value/write", ConfigValueWriteParams)
async def value_write(session: Session, params: ConfigValueWriteParams) -> ConfigWriteResponse:
    edit = Edit(params.key_path, params.value, params.merge_strategy)
    outcome = await asyncio.to_thread(
        write, session.server, [edit], file_path=params.file_path, expected_version=params.expected_version
    )
    return response(outcome)


@method("config/batchWrite", ConfigBatchWriteParams)
async def batch_write(session: Session, params: ConfigBatchWriteParams) -> ConfigWriteResponse:
    edits = [Edit(edit.key_path, edit.value, edit.merge_strategy) for edit in params.edits]
    outcome = await asyncio.to_thread(
        write, session.server, edits, file_path=params.file_path, expected_version=params.expected_version
    )
    return response(outcome)


@method("experimentalFeature/list", ExperimentalFeatureListParams)
async def feature_list(session: Session, params: ExperimentalFeatureListParams) -> dict[str, Any]:
    """Every flag with its effective state; `cursor` is the index to resume at, as upstream's is."""
    config = effective_config(session.server)
    if config.problem is not None:
        raise InternalError(f"failed to reload config: {config.problem.details}")
    rows = listing(config)
    try:
        start = int(params.cursor) if params.cursor else 0
    except ValueError:
        raise InvalidRequest(f"invalid cursor: {params.cursor}") from None
    end = len(rows) if params.limit is None else min(len(rows), start + params.limit)
    # Plain JSON: 175 rows through a pydantic model cost more than the whole lookup.
    return {"data": rows[start:end], "nextCursor": str(end) if end < len(rows) else None}


@method("experimentalFeature/enablement/set", ExperimentalFeatureEnablementSetParams)
async def feature_enablement_set(
    session: Session, params: ExperimentalFeatureEnablementSetParams
) -> ExperimentalFeatureEnablementSetResponse:
    """Process-wide flag changes, below every config layer; names upstream does not let clients set are
    left out of the answer rather than refused, as upstream does."""
    applied = set_runtime(effective_config(session.server), params.enablement)
    return ExperimentalFeatureEnablementSetResponse(enablement=applied)
