"""Automatic approval review, ours against upstream, with the Responses stand-in: time from the review's
start notification to its verdict (the reviewer request round trip plus our bookkeeping), and from
`turn/start` to the end of a turn whose one escalated command is reviewed and run."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._servers import KINDS, command, ratio, summary
from codex_app_harness.sync import Client
from codex_app_harness.transports import default_env
from fixtures.responses_api import ResponsesApiStub, function_call, text_reply

TURNS = 5
VERDICT = {"risk_level": "low", "user_authorization": "high", "outcome": "allow", "rationale": "bench"}


def reviewed_turns(kind: str, model: ResponsesApiStub) -> tuple[list[float], list[float]]:
    home = Path(tempfile.mkdtemp(prefix="bench-guardian-", dir="/var/tmp")) / "codex"
    home.mkdir()
    config = model.config_toml() + 'approvals_reviewer = "auto_review"\napproval_policy = "on-request"\n'
    (home / "config.toml").write_text(config)
    client = Client.spawn(command(kind), env=default_env(home), codex_home=home)
    reviews, turns = [], []
    try:
        client.initialize(experimental_api=True)
        client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-bench"})
        thread_id = client.request("thread/start", {"cwd": str(home)})["thread"]["id"]
        for index in range(TURNS + 1):  # the first turn warms connections and imports; not counted
            call_id = f"call_bench_{index}"
            arguments = {"cmd": f"touch {home}/m{index}", "sandbox_permissions": "require_escalated"}
            model.enqueue(
                function_call("exec_command", arguments, call_id=call_id),
                text_reply(json.dumps(VERDICT), chunks=1),
                text_reply("done"),
            )
            started = time.perf_counter()
            turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "go"}]})
            review_started = client.wait_for("item/autoApprovalReview/started", targetItemId=call_id, timeout=60)
            review_done = client.wait_for("item/autoApprovalReview/completed", targetItemId=call_id, timeout=60)
            client.wait_for("turn/completed", **{"turn.id": turn["turn"]["id"]}, timeout=60)
            if index:
                turns.append((time.perf_counter() - started) * 1000)
                reviews.append(float(review_done["completedAtMs"] - review_started["startedAtMs"]))
        return reviews, turns
    finally:
        client.close()


def run() -> dict[str, Any]:
    reviews: dict[str, Any] = {}
    turns: dict[str, Any] = {}
    with ResponsesApiStub() as model:
        for kind in KINDS:
            review_samples, turn_samples = reviewed_turns(kind, model)
            reviews[kind], turns[kind] = summary(review_samples), summary(turn_samples)
    return {
        "review_started_to_completed_ms": reviews,
        "reviewed_turn_ms": turns,
        "ratio_review_ours_over_upstream": ratio(reviews["python"]["median"], reviews["codex"]["median"]),
        "ratio_turn_ours_over_upstream": ratio(turns["python"]["median"], turns["codex"]["median"]),
    }
