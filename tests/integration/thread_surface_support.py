"""Helpers shared by the thread-surface suites (thread methods and turn-level surface).

The fixtures stay in each suite: a `client` fixture here would shadow the harness's own for every
integration test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from fixtures.responses_api import ResponsesApiStub, text_reply

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
"""A well-formed thread id no thread has."""
MALFORMED_ID = "bogus"
"""Not a UUID at all: rejected before any lookup."""


def new_thread(client: Client, cwd: Path, **params: Any) -> str:
    thread_id: str = client.request("thread/start", {"cwd": str(cwd), **params})["thread"]["id"]
    client.wait_for("thread/started", **{"thread.id": thread_id})
    return thread_id


def run_turn(client: Client, thread_id: str, text: str) -> dict[str, Any]:
    turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]})["turn"]
    completed: dict[str, Any] = client.wait_for("turn/completed", threadId=thread_id, **{"turn.id": turn["id"]})
    return completed["turn"]


def used_thread(client: Client, model: ResponsesApiStub, cwd: Path, text: str = "ping") -> tuple[str, str]:
    """A thread with one completed turn (upstream persists a thread only once it has a turn)."""
    thread_id = new_thread(client, cwd)
    model.enqueue(text_reply(f"reply to {text}"))
    return thread_id, run_turn(client, thread_id, text)["id"]


def rejected(client: Client, method: str, params: Any) -> RpcResponseError:
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(method, params)
    assert excinfo.value.code == -32600
    return excinfo.value


def user_texts(request: Any) -> list[str]:
    return [text for role, text in request.input_texts() if role == "user" and not text.startswith("<")]
