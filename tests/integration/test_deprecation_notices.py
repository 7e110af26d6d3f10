"""`deprecationNotice`: sent when a thread starts on a config that sets a deprecated feature flag.

Upstream 0.163 sends it after `thread/start`'s response and `thread/started`, once per flag, worded per
flag; nothing at connect (ours additionally sends a `configWarning` then: tests/integration/test_features.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub
from tests.integration.raw_stream import index_of_response, methods, server_writes

WEB_SEARCH_DETAILS = (
    'Set `web_search` to `"live"`, `"indexed"`, `"cached"`, or `"disabled"` at the top level (or under a profile) '
    "in config.toml if you want to override it."
)


@pytest.mark.parametrize(
    ("flag", "summary", "details"),
    [
        ("web_search_request", "is deprecated because web search is enabled by default.", WEB_SEARCH_DETAILS),
        ("web_search_cached", "is deprecated because web search is enabled by default.", WEB_SEARCH_DETAILS),
        ("transcript_v2", "is deprecated and ignored.", "Use `[tui].fullscreen_transcript` in config.toml instead."),
    ],
)
def test_a_deprecated_flag_earns_a_notice_when_a_thread_starts(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path, flag: str, summary: str, details: str
) -> None:
    client = app_server_factory(config_toml=f"{model.config_toml()}[features]\n{flag} = true\n")
    client.assert_no("deprecationNotice")
    client.request("thread/start", {"cwd": str(tmp_path)})
    notice = client.wait_for("deprecationNotice")
    assert notice == {"summary": f"`[features].{flag}` {summary}", "details": details}


def test_without_deprecated_flags_there_is_no_notice(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = app_server_factory(config_toml=f"{model.config_toml()}[features]\nresponses_websockets = true\n")
    thread = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]
    client.wait_for("thread/started", **{"thread.id": thread["id"]})
    client.request("thread/read", {"threadId": thread["id"]})
    client.assert_no("deprecationNotice")


def test_the_notice_follows_the_response_and_thread_started(
    app_server_kind: str, model: ResponsesApiStub, tmp_path: Path
) -> None:
    home = tmp_path / "home" / "codex"
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f"{model.config_toml()}[features]\nweb_search_request = true\n")
    request = {"id": 1, "method": "thread/start", "params": {"cwd": str(tmp_path)}}
    writes = server_writes(app_server_kind, home, [request], until="deprecationNotice")
    answer = index_of_response(writes, 1)
    assert len(writes[answer]) == 1, "the response shares its write"
    assert "deprecationNotice" not in methods(writes[:answer])
    after = [method for method in methods(writes[answer + 1 :]) if method in ("thread/started", "deprecationNotice")]
    assert after == ["thread/started", "deprecationNotice"]
