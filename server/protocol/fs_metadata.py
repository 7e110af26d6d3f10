"""fs/getMetadata's wire shapes, without pydantic: often a client's first request, so it must not pay the
~140 ms of importing pydantic and building models before it can be answered.

Params that are plainly valid (an object holding only `path`, an absolute string without NUL) are taken
as they are; anything else is handed to the pydantic model `server.protocol.fs.FsGetMetadataParams`,
loaded then, so every rejection carries exactly the model's message. The response is upstream's
`FsGetMetadataResponse` (camelCase, in schema order).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from server.protocol.paths import normalize

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.protocol.fs import FsGetMetadataParams


@dataclass(frozen=True, slots=True)
class GetMetadataParams:
    path: str
    """Absolute and normalized, as FsPath makes it."""


def parse_params(raw: Any) -> GetMetadataParams:
    if type(raw) is dict and raw.keys() == {"path"}:
        path = raw["path"]
        if type(path) is str and path.startswith("/") and "\x00" not in path:
            return GetMetadataParams(normalize(path))
    params = _model_parser()(raw)
    assert params is not None  # the parser of a model never answers None
    return GetMetadataParams(params.path)


@cache
def _model_parser() -> Callable[[Any], FsGetMetadataParams | None]:
    from server.protocol.base import params_parser, upstream_params_type
    from server.protocol.fs import FsGetMetadataParams

    return params_parser(FsGetMetadataParams, upstream_params_type("fs/getMetadata", FsGetMetadataParams))
