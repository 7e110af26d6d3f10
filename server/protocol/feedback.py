"""feedback/upload params (upstream's v2 FeedbackUploadParams)."""

from __future__ import annotations

from pydantic import ConfigDict

from server.protocol.base import WireModel


class FeedbackUploadParams(WireModel):
    # Strict like serde: 1 is not a string and "x" is not a boolean.
    model_config = ConfigDict(**WireModel.model_config, strict=True)

    classification: str
    extra_log_files: list[str] | None = None
    include_logs: bool = False
    reason: str | None = None
    tags: dict[str, str] | None = None
    thread_id: str | None = None
