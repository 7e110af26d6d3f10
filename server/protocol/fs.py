"""Wire models of the fs/* namespace (upstream schema: Fs*Params / Fs*Response, FsChangedNotification)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from server.protocol.base import WireModel, verbatim_error
from server.protocol.errors import describe_value
from server.protocol.paths import normalize


def _fs_path(value: Any) -> str:
    """Checked and worded exactly as upstream's AbsolutePathBuf deserializer does: its messages name no
    field, so these are raised verbatim rather than through the generic translation (which appends one)."""
    if not isinstance(value, str):
        raise verbatim_error(f"Invalid request: invalid type: {describe_value(value)}, expected path string")
    if "\x00" in value:
        raise verbatim_error("file name contained an unexpected NUL byte")
    if not value.startswith("/"):
        raise verbatim_error("Invalid request: AbsolutePathBuf deserialized without a base path")
    return normalize(value)


FsPath = Annotated[str, BeforeValidator(_fs_path)]
"""An absolute path normalized lexically on arrival, as upstream's AbsolutePathBuf is (see server.protocol.paths)."""


class FsReadFileParams(WireModel):
    path: FsPath


class FsWriteFileParams(WireModel):
    path: FsPath
    data_base64: str


class FsCreateDirectoryParams(WireModel):
    path: FsPath
    recursive: bool | None = None
    """None means true."""


class FsGetMetadataParams(WireModel):
    """Only for params the light parser of server.protocol.fs_metadata does not take as they are."""

    path: FsPath


class FsReadDirectoryParams(WireModel):
    path: FsPath


class FsReadDirectoryEntry(WireModel):
    file_name: str
    is_directory: bool
    is_file: bool


class FsReadDirectoryResponse(WireModel):
    entries: list[FsReadDirectoryEntry]


class FsRemoveParams(WireModel):
    path: FsPath
    recursive: bool | None = None
    """None means true."""
    force: bool | None = None
    """None means true: a missing path is not an error."""


class FsCopyParams(WireModel):
    source_path: FsPath
    destination_path: FsPath
    recursive: bool = False
    """Not nullable upstream: an explicit null is a type error, unlike fs/remove's options."""


class FsWatchParams(WireModel):
    path: FsPath
    watch_id: str


class FsWatchResponse(WireModel):
    path: str


class FsUnwatchParams(WireModel):
    watch_id: str


class FsChangedNotification(WireModel):
    watch_id: str
    changed_paths: list[str] = Field(default_factory=list)
