"""feedback/upload: a thin adapter over server.feedback."""

from __future__ import annotations

from typing import Any

from server import feedback
from server.handlers.registry import method
from server.protocol.feedback import FeedbackUploadParams
from server.session import Session
from server.threads import surface


@method("feedback/upload", FeedbackUploadParams)
async def upload_feedback(session: Session, params: FeedbackUploadParams) -> dict[str, Any]:
    if params.thread_id is not None:
        surface.check_thread_id(params.thread_id)
    thread_id = params.thread_id or feedback.no_thread_id()
    await feedback.upload(
        session.server.environ.get(feedback.DSN_ENV) or feedback.DEFAULT_DSN,
        classification=params.classification,
        reason=params.reason,
        thread_id=thread_id,
        session_source=session.server.options.session_source or "vscode",
        tags=params.tags or {},
        extra_log_files=params.extra_log_files,
    )
    return {"threadId": thread_id, "promptHash": None}
