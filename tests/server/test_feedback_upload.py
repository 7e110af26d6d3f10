"""feedback/upload of ours against a loopback Sentry stand-in (`CODEX_FEEDBACK_SENTRY_DSN`).

The event's shape was measured on upstream 0.163 with its fixed Sentry host resolved to a loopback
stand-in (a private mount namespace with its own /etc/hosts and `CODEX_CA_CERTIFICATE`); upstream cannot
be pointed elsewhere, so only ours runs here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.sync import Client
from fixtures.sentry_ingest import PROJECT, PUBLIC_KEY, SentryIngest

NO_THREAD = re.compile(r"^no-active-thread-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def sentry() -> Iterator[SentryIngest]:
    with SentryIngest() as running:
        yield running


def pointed_at(factory: AppServerFactory, dsn: str) -> Client:
    return factory(env={"CODEX_FEEDBACK_SENTRY_DSN": dsn})


def upload(client: Client, upstream_schema: Any, params: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = client.request("feedback/upload", params)
    if upstream_schema is not None:
        upstream_schema.check("FeedbackUploadResponse", result)
    return result


def test_a_bug_report_is_one_sentry_event_for_a_fresh_no_thread_id(
    app_server_factory: AppServerFactory, sentry: SentryIngest, upstream_schema: Any
) -> None:
    result = upload(pointed_at(app_server_factory, sentry.dsn), upstream_schema, {"classification": "bug"})
    assert NO_THREAD.match(result["threadId"])
    assert result["promptHash"] is None
    [envelope] = sentry.envelopes()
    assert envelope.path == f"/api/{PROJECT}/envelope/"
    assert envelope.auth.startswith(f"Sentry sentry_key={PUBLIC_KEY}, sentry_version=7, sentry_timestamp=")
    event = envelope.event()
    assert event is not None
    assert envelope.header == {"event_id": str(uuid.UUID(event["event_id"]))}
    assert list(event) == ["event_id", "message", "timestamp", "tags"]
    assert event["message"] == f"[Bug]: Codex session {result['threadId']}"
    assert event["tags"] == {
        "classification": "bug",
        "cli_version": "0.163.0",
        "session_source": "vscode",
        "thread_id": result["threadId"],
    }


def test_a_reason_and_client_tags_go_along_but_never_replace_reserved_tags(
    app_server_factory: AppServerFactory, sentry: SentryIngest, upstream_schema: Any
) -> None:
    thread_id = "019b0000-0000-7000-8000-000000000000"
    params = {
        "classification": "good_result",
        "reason": "nice",
        "threadId": thread_id,
        "tags": {"k": "v", "classification": "override", "thread_id": "t"},
    }
    assert upload(pointed_at(app_server_factory, sentry.dsn), upstream_schema, params) == {
        "threadId": thread_id,
        "promptHash": None,
    }
    event = sentry.envelopes()[0].event()
    assert event is not None
    message = f"[Good result]: Codex session {thread_id}"
    assert (event["level"], event["message"]) == ("info", message)
    assert event["exception"] == {"values": [{"type": message, "value": "nice"}]}
    assert event["tags"] == {
        "classification": "good_result",
        "cli_version": "0.163.0",
        "k": "v",
        "reason": "nice",
        "session_source": "vscode",
        "thread_id": thread_id,
    }


@pytest.mark.parametrize(
    ("classification", "title", "level"),
    [
        ("bad_result", "Bad result", None),
        ("safety_check", "Safety check", None),
        ("other", "Other", "info"),
        ("anything", "Other", "info"),
        ("", "Other", "info"),
    ],
)
def test_classifications_are_titled_as_upstream_titles_them(
    app_server_factory: AppServerFactory, sentry: SentryIngest, classification: str, title: str, level: str | None
) -> None:
    pointed_at(app_server_factory, sentry.dsn).request("feedback/upload", {"classification": classification})
    event = sentry.envelopes()[0].event()
    assert event is not None
    assert event["message"].startswith(f"[{title}]: Codex session no-active-thread-")
    assert event.get("level") == level
    assert event["tags"]["classification"] == classification


def test_offline_the_upload_fails_naming_the_envelope_url(app_server_factory: AppServerFactory) -> None:
    client = pointed_at(app_server_factory, f"http://{PUBLIC_KEY}@127.0.0.1:1/{PROJECT}")
    with pytest.raises(RpcResponseError) as excinfo:
        client.request("feedback/upload", {"classification": "bug"})
    assert (excinfo.value.code, excinfo.value.message) == (
        -32603,
        "failed to upload feedback: failed to upload feedback to Sentry: error sending request for url "
        f"(http://127.0.0.1:1/api/{PROJECT}/envelope/)",
    )


def test_a_rejected_upload_is_an_internal_error(app_server_factory: AppServerFactory, sentry: SentryIngest) -> None:
    sentry.state.status = 429
    with pytest.raises(RpcResponseError) as excinfo:
        pointed_at(app_server_factory, sentry.dsn).request("feedback/upload", {"classification": "bug"})
    assert excinfo.value.code == -32603
    assert excinfo.value.message.startswith(
        "failed to upload feedback: failed to upload feedback to Sentry: HTTP status 429"
    )


def test_extra_log_files_follow_as_attachments_of_the_same_event(
    app_server_factory: AppServerFactory, sentry: SentryIngest, tmp_path: Path
) -> None:
    log = tmp_path / "extra.log"
    log.write_text("extra log line\n")
    client = pointed_at(app_server_factory, sentry.dsn)
    client.request("feedback/upload", {"classification": "bug", "extraLogFiles": [str(log)]})
    event_envelope, attachment = sentry.envelopes()
    assert attachment.header == event_envelope.header
    assert attachment.items == [
        (
            {
                "type": "attachment",
                "length": 15,
                "filename": "extra.log",
                "attachment_type": "event.attachment",
                "content_type": "text/plain",
            },
            b"extra log line\n",
        )
    ]


def test_an_unreadable_extra_log_fails_after_the_report_and_the_other_files(
    app_server_factory: AppServerFactory, sentry: SentryIngest, tmp_path: Path
) -> None:
    log = tmp_path / "extra.log"
    log.write_text("kept\n")
    client = pointed_at(app_server_factory, sentry.dsn)
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(
            "feedback/upload",
            {"classification": "bug", "extraLogFiles": [str(tmp_path / "gone.log"), str(log), str(tmp_path)]},
        )
    assert (excinfo.value.code, excinfo.value.message) == (
        -32603,
        "failed to upload feedback: feedback report was accepted, but some attachments failed to upload",
    )
    kinds = [envelope.items[0][0]["type"] for envelope in sentry.envelopes()]
    assert kinds == ["event", "attachment"]
