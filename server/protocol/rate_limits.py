"""account/rateLimits/read params (upstream's v2 GetAccountRateLimitsParams, optional as a whole)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from server.protocol.base import WireModel


class GetAccountRateLimitsParams(WireModel):
    # Strict like serde: "x" is not a boolean.
    model_config = ConfigDict(**WireModel.model_config, strict=True)
    PARAMS_OPTIONAL: ClassVar[bool] = True

    exclude_reset_credit_details: bool = False
    supports_luna_reserve: bool = False
