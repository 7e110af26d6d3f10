"""The thread methods clients call besides start/turn: names, archive round trips, subscriptions, metadata,
turn pages, injected history, compaction, steering, and the notifications upstream sends around turns.

Runs against ours and the upstream binary with the same Responses stand-in; every expectation (shapes,
errors, notification order) was measured on upstream 0.163.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, text_reply
from tests.integration.thread_surface_support import (
    MALFORMED_ID,
    UNKNOWN_ID,
    new_thread,
    rejected,
    run_turn,
    used_thread,
    user_texts,
)


@pytest.fixture
def start_server(app_server_factory: AppServerFactory, model: ResponsesApiStub) -> Any:
    def start(**kwargs: Any) -> Client:
        client = app_server_factory(config_toml=model.config_toml(), experimental_api=True, **kwargs)
        client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test-surface"})
        return client

    return start


@pytest.fixture
def client(start_server: Any) -> Client:
    started: Client = start_server()
    return started


# ------------------------------------------------------------------------------------- thread/name/set


def test_set_name_answers_then_announces_the_name(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    assert client.request("thread/name/set", {"threadId": thread_id, "name": "My thread"}) == {}
    client.wait_for("thread/name/updated", threadId=thread_id, threadName="My thread")
    assert client.request("thread/read", {"threadId": thread_id})["thread"]["name"] == "My thread"
    listed = client.request("thread/list", {})["data"]
    assert [(thread["id"], thread["name"]) for thread in listed] == [(thread_id, "My thread")]


def test_set_name_survives_a_restart(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    first = app_server_factory(config_toml=model.config_toml())
    first.request("account/login/start", {"type": "apiKey", "apiKey": "sk-test-surface"})
    thread_id, _ = used_thread(first, model, tmp_path)
    first.request("thread/name/set", {"threadId": thread_id, "name": "kept"})
    first.wait_for("thread/name/updated", threadId=thread_id)
    home = first.codex_home
    first.close()
    second = app_server_factory(codex_home=home)
    assert second.request("thread/read", {"threadId": thread_id})["thread"]["name"] == "kept"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"name": ""}, "thread name must not be empty"),
        ({"name": "   "}, "thread name must not be empty"),
        ({}, "Invalid request: missing field `name`"),
        ({"name": 5}, "Invalid request: invalid type: integer `5`, expected a string"),
    ],
)
def test_set_name_rejects_bad_names(
    client: Client, model: ResponsesApiStub, tmp_path: Path, params: dict[str, Any], message: str
) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    assert rejected(client, "thread/name/set", {"threadId": thread_id, **params}).message.startswith(message)


def test_set_name_on_unknown_threads(client: Client) -> None:
    assert rejected(client, "thread/name/set", {"threadId": MALFORMED_ID, "name": "x"}).message.startswith(
        "invalid thread id: "
    )
    assert rejected(client, "thread/name/set", {"threadId": UNKNOWN_ID, "name": "x"}).message == (
        f"no rollout found for thread id {UNKNOWN_ID}"
    )
    assert rejected(client, "thread/name/set", {"name": "x"}).message == "Invalid request: missing field `threadId`"


# ------------------------------------------------------------------------------------ thread/unarchive


def test_unarchive_returns_the_thread_and_announces_it(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, turn_id = used_thread(client, model, tmp_path)
    client.request("thread/archive", {"threadId": thread_id})
    client.wait_for("thread/archived", threadId=thread_id)
    thread = client.request("thread/unarchive", {"threadId": thread_id})["thread"]
    client.wait_for("thread/unarchived", threadId=thread_id)
    assert thread["id"] == thread_id
    assert thread["preview"] == "ping"
    assert thread["status"] == {"type": "notLoaded"}
    assert thread["turns"] == []
    assert not Path(thread["path"]).is_relative_to(client.codex_home / "archived_sessions")
    assert Path(thread["path"]).is_file()
    assert [t["id"] for t in client.request("thread/list", {})["data"]] == [thread_id]
    assert client.request("thread/list", {"archived": True})["data"] == []
    read = client.request("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
    assert [turn["id"] for turn in read["turns"]] == [turn_id]


def test_unarchived_thread_takes_new_turns(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    client.request("thread/archive", {"threadId": thread_id})
    client.request("thread/unarchive", {"threadId": thread_id})
    client.request("thread/resume", {"threadId": thread_id})
    model.enqueue(text_reply("back again"))
    assert run_turn(client, thread_id, "hello again")["status"] == "completed"
    assert user_texts(model.wait_for_posts(2)[-1]) == ["ping", "hello again"]


def test_unarchive_errors(client: Client) -> None:
    assert rejected(client, "thread/unarchive", {"threadId": UNKNOWN_ID}).message == (
        f"no archived rollout found for thread id {UNKNOWN_ID}"
    )
    assert rejected(client, "thread/unarchive", {"threadId": MALFORMED_ID}).message.startswith("invalid session id: ")
    assert rejected(client, "thread/unarchive", {}).message == "Invalid request: missing field `threadId`"
    assert rejected(client, "thread/unarchive", {"threadId": 7}).message.startswith("Invalid request: invalid type")


# ------------------------------------------------------------------------- loaded list and unsubscribe


def test_loaded_list_pages_through_loaded_threads(client: Client, tmp_path: Path) -> None:
    ids = [new_thread(client, tmp_path) for _ in range(3)]
    assert client.request("thread/loaded/list", {}) == {"data": ids, "nextCursor": None}
    first = client.request("thread/loaded/list", {"limit": 2})
    assert first["data"] == ids[:2]
    assert first["nextCursor"] is not None
    rest = client.request("thread/loaded/list", {"limit": 2, "cursor": first["nextCursor"]})
    assert rest == {"data": ids[2:], "nextCursor": None}


def test_loaded_list_errors(client: Client) -> None:
    assert rejected(client, "thread/loaded/list", {"limit": "x"}).message.startswith("Invalid request: invalid type")
    assert rejected(client, "thread/loaded/list", {"limit": -1}).message.startswith("Invalid request: invalid value")


def test_unsubscribe_reports_what_changed(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    assert client.request("thread/unsubscribe", {"threadId": thread_id}) == {"status": "unsubscribed"}
    assert client.request("thread/unsubscribe", {"threadId": thread_id}) == {"status": "notSubscribed"}
    assert client.request("thread/unsubscribe", {"threadId": UNKNOWN_ID}) == {"status": "notLoaded"}
    assert rejected(client, "thread/unsubscribe", {"threadId": MALFORMED_ID}).message.startswith("invalid thread id: ")
    assert rejected(client, "thread/unsubscribe", {}).message == "Invalid request: missing field `threadId`"


# -------------------------------------------------------------------------------------------- metadata


def test_metadata_update_patches_git_info(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    patched = client.request("thread/metadata/update", {"threadId": thread_id, "gitInfo": {"branch": "feat"}})
    assert patched["thread"]["id"] == thread_id
    assert patched["thread"]["gitInfo"] == {"sha": None, "branch": "feat", "originUrl": None}
    again = client.request(
        "thread/metadata/update", {"threadId": thread_id, "gitInfo": {"sha": "abc123", "branch": None}}
    )
    assert again["thread"]["gitInfo"] == {"sha": "abc123", "branch": None, "originUrl": None}
    assert client.request("thread/read", {"threadId": thread_id})["thread"]["gitInfo"] == again["thread"]["gitInfo"]


def test_metadata_update_errors(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    assert rejected(client, "thread/metadata/update", {"threadId": thread_id}).message == (
        "thread metadata update must include at least one field"
    )
    assert rejected(client, "thread/metadata/update", {"threadId": thread_id, "gitInfo": {}}).message == (
        "gitInfo must include at least one field"
    )
    bad_type = rejected(client, "thread/metadata/update", {"threadId": thread_id, "gitInfo": {"sha": 5}})
    assert bad_type.message.startswith("Invalid request: invalid type: integer `5`, expected a string")
    unknown = rejected(client, "thread/metadata/update", {"threadId": UNKNOWN_ID, "gitInfo": {"sha": "x"}})
    assert unknown.message == f"no rollout found for thread id {UNKNOWN_ID}"
    assert rejected(client, "thread/metadata/update", {"threadId": MALFORMED_ID}).message.startswith(
        "invalid thread id: "
    )


# ------------------------------------------------------------------------------------------ turns list


def test_turns_list_pages_newest_first(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, first = used_thread(client, model, tmp_path, "one")
    model.enqueue(text_reply("two back"))
    second = run_turn(client, thread_id, "two")["id"]
    page = client.request("thread/turns/list", {"threadId": thread_id})
    assert [turn["id"] for turn in page["data"]] == [second, first]
    assert page["nextCursor"] is None
    assert [item["type"] for item in page["data"][0]["items"]] == ["userMessage", "agentMessage"]
    assert page["data"][0]["itemsView"] == "summary"
    newest = client.request("thread/turns/list", {"threadId": thread_id, "limit": 1})
    assert [turn["id"] for turn in newest["data"]] == [second]
    older = client.request("thread/turns/list", {"threadId": thread_id, "limit": 1, "cursor": newest["nextCursor"]})
    assert [turn["id"] for turn in older["data"]] == [first]
    assert older["nextCursor"] is None
    ascending = client.request("thread/turns/list", {"threadId": thread_id, "sortDirection": "asc"})
    assert [turn["id"] for turn in ascending["data"]] == [first, second]


def test_turns_list_errors(client: Client) -> None:
    assert rejected(client, "thread/turns/list", {"threadId": MALFORMED_ID}).message.startswith("invalid thread id: ")
    assert rejected(client, "thread/turns/list", {}).message == "Invalid request: missing field `threadId`"


# ---------------------------------------------------------------------------------------- inject items


def test_injected_items_reach_the_next_model_request(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    injected = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "INJECTED"}]}
    assert client.request("thread/inject_items", {"threadId": thread_id, "items": [injected]}) == {}
    model.enqueue(text_reply("seen"))
    run_turn(client, thread_id, "next")
    assert user_texts(model.wait_for_posts(2)[-1]) == ["ping", "INJECTED", "next"]


def test_inject_items_errors(client: Client, model: ResponsesApiStub, tmp_path: Path) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    assert rejected(client, "thread/inject_items", {"threadId": thread_id, "items": []}).message == (
        "items must not be empty"
    )
    assert rejected(client, "thread/inject_items", {"threadId": thread_id, "items": [{"bogus": 1}]}).message == (
        "items[0] is not a valid response item: missing field `type`"
    )
    assert rejected(client, "thread/inject_items", {"threadId": thread_id}).message == (
        "Invalid request: missing field `items`"
    )
    assert rejected(client, "thread/inject_items", {"threadId": MALFORMED_ID, "items": []}).message.startswith(
        "invalid thread id: "
    )


# ------------------------------------------------------------------------------------- guardian denial


def test_approve_guardian_denied_action_validates_the_event(
    client: Client, model: ResponsesApiStub, tmp_path: Path
) -> None:
    thread_id, _ = used_thread(client, model, tmp_path)
    method = "thread/approveGuardianDeniedAction"
    assert rejected(client, method, {"threadId": thread_id, "event": {}}).message == (
        "invalid Guardian denial event: missing field `id`"
    )
    assert rejected(client, method, {"threadId": thread_id, "event": {"id": "x", "status": "denied"}}).message == (
        "invalid Guardian denial event: missing field `action`"
    )
    command = {"type": "command", "source": "unified_exec", "command": "true", "cwd": str(tmp_path)}
    assert rejected(client, method, {"threadId": thread_id, "event": {"id": "x", "action": command}}).message == (
        "invalid Guardian denial event: missing field `status`"
    )
    assert rejected(client, method, {"threadId": thread_id, "event": {"id": "x", "action": {}}}).message == (
        "invalid Guardian denial event: missing field `type`"
    )
    camel = {**command, "source": "unifiedExec"}
    assert rejected(client, method, {"threadId": thread_id, "event": {"id": "x", "action": camel}}).message == (
        "invalid Guardian denial event: unknown variant `unifiedExec`, expected `shell` or `unified_exec`"
    )
    assert rejected(client, method, {"threadId": thread_id}).message == "Invalid request: missing field `event`"


# ---------------------------------------------------------------------------------------- service tier


@pytest.mark.parametrize(
    ("requested", "echoed"),
    [(None, "default"), ("fast", "priority"), ("priority", "priority"), ("flex", "flex"), ("default", "default")],
)
def test_service_tier_is_echoed_as_upstream_names_it(
    client: Client, tmp_path: Path, requested: str | None, echoed: str
) -> None:
    started = client.request("thread/start", {"cwd": str(tmp_path), "serviceTier": requested})
    assert started["serviceTier"] == echoed


def test_service_tier_absent_is_null(client: Client, tmp_path: Path) -> None:
    assert client.request("thread/start", {"cwd": str(tmp_path)})["serviceTier"] is None
