"""The reviewer's answer, read into a verdict: missing fields get upstream's defaults, anything that is not
a verdict fails closed."""

from __future__ import annotations

import json

import pytest

from server.threads.guardian import ReviewFailed, failed, parse_verdict, request_body, transcript


def test_minimal_allow_gets_upstreams_defaults() -> None:
    verdict = parse_verdict('{"outcome":"allow"}')
    assert verdict.wire() == {
        "status": "approved",
        "riskLevel": "low",
        "userAuthorization": "unknown",
        "rationale": "Auto-review returned a low-risk allow decision.",
    }
    assert verdict.refusal() is None


def test_denial_tells_the_agent_the_reason() -> None:
    verdict = parse_verdict(json.dumps({"outcome": "deny", "risk_level": "critical", "rationale": "wipes disk"}))
    assert verdict.status == "denied"
    refusal = verdict.refusal()
    assert refusal is not None
    assert refusal.startswith("This action was rejected due to unacceptable risk.\nReason: wipes disk\n")


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"outcome":"maybe"}', '{"risk_level":"low"}'])
def test_anything_but_a_verdict_fails(text: str) -> None:
    with pytest.raises(ReviewFailed):
        parse_verdict(text)


def test_a_failed_review_refuses_with_the_reason() -> None:
    verdict = failed("guardian assessment was not valid JSON")
    assert verdict.status == "aborted"
    assert verdict.warning() == "Automatic approval review failed: guardian assessment was not valid JSON"
    refusal = verdict.refusal()
    assert refusal is not None
    assert "could not be completed" in refusal


def test_request_holds_the_transcript_and_the_planned_action() -> None:
    history = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "please touch the file"}]},
        {"type": "function_call", "name": "exec_command", "arguments": '{"cmd":"touch x"}', "call_id": "c"},
    ]
    assert transcript(history) == '[1] user: please touch the file\n[2] tool exec_command call: {"cmd":"touch x"}'
    body = request_body("thread-1", history, {"tool": "exec_command", "command": ["touch", "x"]})
    assert body["prompt_cache_key"] == "guardian:thread-1"
    assert body["text"]["format"]["name"] == "codex_output_schema"
    assert "Planned action JSON:" in json.dumps(body["input"])
