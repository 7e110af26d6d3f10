"""Wire models of config/*, experimentalFeature/* (upstream schema: Config*Params / Config*Response,
ExperimentalFeature*). Config values themselves stay plain JSON: their shape is the config file's."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from server.protocol.base import U32, WireModel


class ConfigReadParams(WireModel):
    """Only for params the plain parser of server.handlers.config_read does not take as they are."""

    cwd: str | None = None
    include_layers: bool = False


class ConfigEditModel(WireModel):
    key_path: str
    value: Any = Field(...)
    merge_strategy: Literal["replace", "upsert"]


class ConfigValueWriteParams(ConfigEditModel):
    file_path: str | None = None
    expected_version: str | None = None


class ConfigBatchWriteParams(WireModel):
    edits: list[ConfigEditModel]
    file_path: str | None = None
    expected_version: str | None = None
    reload_user_config: bool = False


class ConfigWriteResponse(WireModel):
    status: Literal["ok", "okOverridden"]
    version: str
    file_path: str
    overridden_metadata: dict[str, Any] | None = None


class ExperimentalFeatureListParams(WireModel):
    cursor: str | None = None
    limit: U32 | None = None
    thread_id: str | None = None


class ExperimentalFeatureEnablementSetParams(WireModel):
    enablement: dict[str, bool]


class ExperimentalFeatureEnablementSetResponse(WireModel):
    enablement: dict[str, bool]
