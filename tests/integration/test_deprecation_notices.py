"""`deprecationNotice`: sent when a thread goes live on a config that sets a deprecated feature flag, and
for a thread/resume or thread/fork that hydrates the whole history.

Upstream 0.163 sends the flags' notices after `thread/start`'s response and `thread/started`, once per
flag, worded per flag; nothing at connect (ours additionally sends a `configWarning` then:
tests/integration/test_features.py). A fork sends the hydration notice (without `excludeTurns`), then the
flags' notices, then `thread/started`; a resume sends the hydration notice (without `excludeTurns`) and the
flags' notices only when no client had the thread loaded. server/config/deprecations.py has the texts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.sync import Client
from fixtures.responses_api import ResponsesApiStub, text_reply
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


HYDRATION = (
    "Full-history hydration is deprecated for paginated threads; use `excludeTurns: true`, then page with "
    "`thread/turns/list` and `thread/items/list`."
)
WEB_SEARCH_REQUEST = "`[features].web_search_request` is deprecated because web search is enabled by default."


def flagged(model: ResponsesApiStub) -> str:
    return f"{model.config_toml()}[features]\nweb_search_request = true\n"


def thread_with_a_turn(client: Client, model: ResponsesApiStub, cwd: Path) -> str:
    """A logged-in client's thread with one completed turn (a fork and a resume need a stored history)."""
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-notices"})
    thread_id: str = client.request("thread/start", {"cwd": str(cwd)})["thread"]["id"]
    model.enqueue(text_reply("hello"))
    client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi"}]})
    client.wait_for("turn/completed", **{"turn.status": "completed"})
    client.drain()
    return thread_id


def stored_thread(app_server_factory: AppServerFactory, model: ResponsesApiStub, cwd: Path) -> tuple[Path, str]:
    """A codex home holding a thread with one turn, and no server running on it any more."""
    client = app_server_factory(config_toml=flagged(model))
    thread_id = thread_with_a_turn(client, model, cwd)
    home = client.codex_home
    assert home is not None
    client.close()
    return home, thread_id


def notices_and_started(writes: list[list[dict[str, Any]]], request_id: str, kind: str) -> list[str]:
    """Each deprecationNotice's summary and each `thread/started`, in the order written.

    Where they stand against the response differs, on purpose: upstream 0.163 writes a fork's and a
    resume's notices before its response, ours after it, in writes of their own, as for every notification
    a request causes (tests/integration/test_message_order.py): a client that starts listening for a
    thread's events when the response resolves would otherwise never see them.
    """
    answer = index_of_response(writes, request_id)
    assert len(writes[answer]) == 1, "the response shares its write"
    before = [m for write in writes[:answer] for m in write if m.get("method") == "deprecationNotice"]
    if kind == "codex":
        assert before, "upstream now answers before its notices: ours and upstream agree, drop this branch"
    else:
        assert before == [], "a notice was written before the response that caused it"
    return [
        message["params"]["summary"] if message["method"] == "deprecationNotice" else message["method"]
        for write in writes
        for message in write
        if message.get("method") in ("deprecationNotice", "thread/started")
    ]


@pytest.mark.parametrize(
    ("exclude_turns", "expected"),
    [(False, [HYDRATION, WEB_SEARCH_REQUEST, "thread/started"]), (True, [WEB_SEARCH_REQUEST, "thread/started"])],
    ids=["whole-history", "exclude-turns"],
)
def test_a_fork_sends_its_notices_before_thread_started(
    app_server_factory: AppServerFactory,
    app_server_kind: str,
    model: ResponsesApiStub,
    tmp_path: Path,
    exclude_turns: bool,
    expected: list[str],
) -> None:
    home, thread_id = stored_thread(app_server_factory, model, tmp_path)
    fork = {"id": "fork", "method": "thread/fork", "params": {"threadId": thread_id, "excludeTurns": exclude_turns}}
    writes = server_writes(app_server_kind, home, [fork], until="thread/started")
    assert notices_and_started(writes, "fork", app_server_kind) == expected


@pytest.mark.parametrize(
    ("exclude_turns", "expected"),
    [(False, [HYDRATION, WEB_SEARCH_REQUEST]), (True, [WEB_SEARCH_REQUEST])],
    ids=["whole-history", "exclude-turns"],
)
def test_resuming_a_thread_nobody_has_loaded_brings_the_flags_notices(
    app_server_factory: AppServerFactory,
    app_server_kind: str,
    model: ResponsesApiStub,
    tmp_path: Path,
    exclude_turns: bool,
    expected: list[str],
) -> None:
    home, thread_id = stored_thread(app_server_factory, model, tmp_path)
    resume = {
        "id": "resume",
        "method": "thread/resume",
        "params": {"threadId": thread_id, "excludeTurns": exclude_turns},
    }
    # A second request after it: every notice the resume causes is written before that one's response.
    after = {"id": "after", "method": "thread/list", "params": {}}
    writes = server_writes(app_server_kind, home, [resume, after], until="deprecationNotice")
    assert notices_and_started(writes, "resume", app_server_kind) == expected


def test_resuming_a_loaded_thread_brings_only_the_hydration_notice(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = app_server_factory(config_toml=flagged(model))
    thread_id = thread_with_a_turn(client, model, tmp_path)
    client.request("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    client.assert_no("deprecationNotice", within=0.5)
    client.request("thread/resume", {"threadId": thread_id})
    assert client.wait_for("deprecationNotice") == {"summary": HYDRATION, "details": None}
    client.assert_no("deprecationNotice", within=0.5)
