"""Time from `turn/start` to the first streamed delta, ours against upstream, with the Responses stand-in."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench._servers import KINDS, command, ratio, summary
from codex_app_harness.sync import Client
from codex_app_harness.transports import default_env
from fixtures.responses_api import ResponsesApiStub, text_reply

TURNS = 10


def first_delta_ms(kind: str, model: ResponsesApiStub) -> list[float]:
    home = Path(tempfile.mkdtemp(prefix="bench-threads-", dir="/var/tmp")) / "codex"
    home.mkdir()
    (home / "config.toml").write_text(model.config_toml())
    client = Client.spawn(command(kind), env=default_env(home), codex_home=home)
    try:
        client.initialize()
        client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-bench"})
        thread_id = client.request("thread/start", {"cwd": str(home)})["thread"]["id"]
        samples = []
        for index in range(TURNS + 1):  # the first turn warms connections and imports; not counted
            model.enqueue(text_reply("a streamed answer", chunks=3))
            started = time.perf_counter()
            turn = client.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi"}]})
            client.wait_for("item/agentMessage/delta", turnId=turn["turn"]["id"], timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            client.wait_for("turn/completed", **{"turn.id": turn["turn"]["id"]}, timeout=30)
            if index:
                samples.append(elapsed)
        return samples
    finally:
        client.close()


def run() -> dict[str, Any]:
    with ResponsesApiStub() as model:
        results = {kind: summary(first_delta_ms(kind, model)) for kind in KINDS}
    return {
        "turn_start_to_first_delta_ms": results,
        "ratio_ours_over_upstream": ratio(results["python"]["median"], results["codex"]["median"]),
    }
