"""model/list params (upstream's v2 ModelListParams)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict

from server.protocol.base import WireModel

U32_MAX = 2**32 - 1


def _u32(value: int) -> int:
    if not 0 <= value <= U32_MAX:
        raise ValueError(f"invalid value: integer `{value}`, expected u32")
    return value


U32 = Annotated[int, AfterValidator(_u32)]
"""serde's u32: out-of-range integers are refused with serde's wording."""


class ModelListParams(WireModel):
    # Strict like serde: "yes" is not a boolean and "5" is not a number.
    model_config = ConfigDict(**WireModel.model_config, strict=True)

    cursor: str | None = None
    include_hidden: bool | None = None
    limit: U32 | None = None
