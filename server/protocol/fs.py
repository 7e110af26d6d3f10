"""Wire models of the fs/* namespace (upstream schema: Fs*Params / Fs*Response)."""

from __future__ import annotations

from server.protocol.base import AbsolutePath, WireModel


class FsGetMetadataParams(WireModel):
    path: AbsolutePath


class FsGetMetadataResponse(WireModel):
    is_directory: bool
    is_file: bool
    is_symlink: bool
    created_at_ms: int
    modified_at_ms: int
