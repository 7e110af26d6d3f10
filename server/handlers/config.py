"""config/* and experimentalFeature/list: thin adapters over the resolver (server.config)."""

from __future__ import annotations

import asyncio
from typing import Any

from server.config import effective_config
from server.config.features import listing, set_runtime
from server.config.writer import Edit, WriteOutcome, write
from server.handlers.registry import method
from server.protocol.config import (
    ConfigBatchWriteParams,
    ConfigValueWriteParams,
    ConfigWriteResponse,
    ExperimentalFeatureEnablementSetParams,
    ExperimentalFeatureEnablementSetResponse,
    ExperimentalFeatureListParams,
)
from server.protocol.errors import InternalError, InvalidRequest
from server.session import Session


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
