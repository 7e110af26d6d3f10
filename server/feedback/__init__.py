"""`feedback/upload`: a user's feedback sent as a Sentry event, as upstream 0.163 sends it.

Upstream posts one Sentry envelope (https://develop.sentry.dev/sdk/data-model/envelopes/) to a fixed DSN;
here the DSN is the same by default and `CODEX_FEEDBACK_SENTRY_DSN` points it elsewhere (a self-hosted
Sentry, or a stand-in). The event, measured on upstream with its DSN host resolved to a loopback stand-in:

    {"event_id": "<32 hex>", "level": "info" (good results and "other" only),
     "message": "[Bug]: Codex session <thread id>", "timestamp": <unix seconds, float>,
     "exception": {"values": [{"type": <message>, "value": <reason>}]} (only with a reason),
     "tags": {"classification", "cli_version", "session_source", "thread_id", "reason"?, <client tags>}}

Client tags never replace the reserved ones. Without a thread the report names a fresh
`no-active-thread-<uuid7>`, which the response returns as `threadId`. Each of `extraLogFiles` follows in an
envelope of its own (an `attachment` item named after the file, for the same event), whether or not
`includeLogs` is set; one that cannot be read or sent leaves the event in place and fails the request with
upstream's "feedback report was accepted, but some attachments failed to upload". Upstream's own logs and
diagnostics report (`includeLogs`) have no counterpart in this server and are not sent.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from server.protocol.errors import InternalError

DEFAULT_DSN = "https://ae32ed50620d7a7792c1ce5df38b3e3e@o33249.ingest.us.sentry.io/4510195390611458"
DSN_ENV = "CODEX_FEEDBACK_SENTRY_DSN"
CLI_VERSION = "0.163.0"
SENTRY_CLIENT = "sentry.rust/0.46.1"
"""The client name upstream's Sentry SDK announces; kept so server-side filters treat both alike."""
TIMEOUT_SECONDS = 30.0
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""An extra log file larger than this is not sent (a failed attachment), rather than read into memory."""
ATTACHMENTS_FAILED = "feedback report was accepted, but some attachments failed to upload"
MAX_REASON_CHARS = 64 * 1024
"""A reason longer than this is cut: Sentry itself truncates event messages far shorter."""

CLASSIFICATIONS = {
    "bug": ("Bug", None),
    "bad_result": ("Bad result", None),
    "safety_check": ("Safety check", None),
    "good_result": ("Good result", "info"),
}
OTHER = ("Other", "info")
RESERVED_TAGS = frozenset({"classification", "cli_version", "session_source", "thread_id", "reason"})


class FeedbackError(InternalError):
    """The upload failed: upstream's -32603, its message prefixed as upstream prefixes it."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"failed to upload feedback: {detail}")


@dataclass(frozen=True)
class Dsn:
    scheme: str
    public_key: str
    host: str
    project: str

    @classmethod
    def parse(cls, dsn: str) -> Dsn:
        parts = urlsplit(dsn)
        project = parts.path.strip("/")
        if not parts.scheme or not parts.username or not parts.hostname or not project:
            raise FeedbackError(f"invalid Sentry DSN in {DSN_ENV}")
        host = parts.netloc.rpartition("@")[2]
        return cls(parts.scheme, parts.username, host, project)

    @property
    def envelope_url(self) -> str:
        return f"{self.scheme}://{self.host}/api/{self.project}/envelope/"

    def auth_header(self, timestamp: float) -> str:
        return (
            f"Sentry sentry_key={self.public_key}, sentry_version=7, "
            f"sentry_timestamp={timestamp}, sentry_client={SENTRY_CLIENT}"
        )


def no_thread_id() -> str:
    from server.threads.ids import uuid7

    return f"no-active-thread-{uuid7()}"


def event(
    *,
    event_id: uuid.UUID,
    classification: str,
    reason: str | None,
    thread_id: str,
    session_source: str,
    tags: dict[str, str],
    timestamp: float,
) -> dict[str, Any]:
    title, level = CLASSIFICATIONS.get(classification, OTHER)
    message = f"[{title}]: Codex session {thread_id}"
    built: dict[str, Any] = {"event_id": event_id.hex}
    if level is not None:
        built["level"] = level
    built["message"] = message
    built["timestamp"] = timestamp
    all_tags = {key: value for key, value in tags.items() if key not in RESERVED_TAGS}
    all_tags.update(
        classification=classification, cli_version=CLI_VERSION, session_source=session_source, thread_id=thread_id
    )
    if reason:
        reason = reason[:MAX_REASON_CHARS]
        built["exception"] = {"values": [{"type": message, "value": reason}]}
        all_tags["reason"] = reason
    built["tags"] = dict(sorted(all_tags.items()))
    return built


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def envelope(event_id: uuid.UUID, payload: dict[str, Any]) -> bytes:
    body = _compact(payload)
    item = _compact({"type": "event", "length": len(body)})
    return _compact({"event_id": str(event_id)}) + b"\n" + item + b"\n" + body + b"\n"


def attachment_envelope(event_id: uuid.UUID, filename: str, data: bytes) -> bytes:
    item = {
        "type": "attachment",
        "length": len(data),
        "filename": filename,
        "attachment_type": "event.attachment",
        "content_type": "text/plain",
    }
    return _compact({"event_id": str(event_id)}) + b"\n" + _compact(item) + b"\n" + data + b"\n"


def read_attachment(path: str) -> bytes | None:
    """The file's bytes, or None when it is not a regular file or is over the size limit (even if it grew)."""
    file = Path(path)
    try:
        if not file.is_file() or file.stat().st_size > MAX_ATTACHMENT_BYTES:
            return None
        with file.open("rb") as handle:
            data = handle.read(MAX_ATTACHMENT_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_ATTACHMENT_BYTES else None


async def upload(
    dsn_text: str,
    *,
    classification: str,
    reason: str | None,
    thread_id: str,
    session_source: str,
    tags: dict[str, str],
    extra_log_files: list[str] | None = None,
) -> None:
    """Post the feedback event, then each extra log file; raises FeedbackError worded like upstream's."""
    dsn = Dsn.parse(dsn_text)
    event_id = uuid.uuid4()
    timestamp = time.time()
    payload = event(
        event_id=event_id,
        classification=classification,
        reason=reason,
        thread_id=thread_id,
        session_source=session_source,
        tags=tags,
        timestamp=timestamp,
    )
    url = dsn.envelope_url
    prefix = "failed to upload feedback to Sentry"
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:

        async def post(body: bytes) -> httpx.Response:
            headers = {"x-sentry-auth": dsn.auth_header(time.time()), "content-encoding": "gzip"}
            return await client.post(url, content=gzip.compress(body), headers=headers)

        try:
            response = await post(envelope(event_id, payload))
        except httpx.HTTPError:
            raise FeedbackError(f"{prefix}: error sending request for url ({url})") from None
        if not 200 <= response.status_code < 300:
            raise FeedbackError(f"{prefix}: HTTP status {response.status_code} {response.reason_phrase}".rstrip())
        failed = False
        for path in extra_log_files or []:
            data = read_attachment(path)
            if data is None:
                failed = True
                continue
            try:
                answer = await post(attachment_envelope(event_id, os.path.basename(path), data))
                failed = failed or not 200 <= answer.status_code < 300
            except httpx.HTTPError:
                failed = True
    if failed:
        raise FeedbackError(ATTACHMENTS_FAILED)
