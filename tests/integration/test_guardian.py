"""Automatic approval review ("guardian"): a second model request judges an action instead of the user.

Runs against ours and upstream. The trigger is a plain `exec_command` function call asking for escalated
permissions, which upstream accepts from the model although it normally reaches it through its code-mode
tool (protocol notes, section 13.3); ours offers `exec_command` as a function tool of its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client
from codex_app_harness.pytest_plugin import AppServerFactory
from fixtures.responses_api import ResponsesApiStub, ScriptedResponse, function_call, text_reply
from tests.integration.test_threads import run_turn

REVIEW_SCHEMA_NAME = "codex_output_schema"
REVIEW_FIELDS = {"risk_level", "user_authorization", "outcome", "rationale"}


def start(factory: AppServerFactory, model: ResponsesApiStub, reviewer: str = "auto_review") -> Client:
    config = model.config_toml() + f'approvals_reviewer = "{reviewer}"\napproval_policy = "on-request"\n'
    client = factory(config_toml=config, experimental_api=True)
    client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-guardian"})
    return client


def escalated_touch(path: Path, call_id: str) -> ScriptedResponse:
    arguments = {
        "cmd": f"touch {path}",
        "sandbox_permissions": "require_escalated",
        "justification": "need to write outside sandbox",
    }
    return function_call("exec_command", arguments, call_id=call_id)


def verdict(**fields: str) -> ScriptedResponse:
    return text_reply(json.dumps(fields), chunks=1)


def is_review_request(request: Any) -> bool:
    text_format = ((request.body or {}).get("text") or {}).get("format") or {}
    return bool(text_format.get("type") == "json_schema" and text_format.get("name") == REVIEW_SCHEMA_NAME)


def outputs_for(request: Any, call_id: str) -> list[str]:
    items = (request.body or {}).get("input", [])
    return [str(i["output"]) for i in items if i.get("type") == "function_call_output" and i["call_id"] == call_id]


def reviewed(client: Client, thread_id: str, call_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    started = client.wait_for("item/autoApprovalReview/started", threadId=thread_id, targetItemId=call_id)
    completed = client.wait_for(
        "item/autoApprovalReview/completed", threadId=thread_id, targetItemId=call_id, reviewId=started["reviewId"]
    )
    return started, completed


def command_item(client: Client, turn_id: str, call_id: str) -> dict[str, Any]:
    done = client.wait_for("item/completed", turnId=turn_id, **{"item.type": "commandExecution", "item.id": call_id})
    item: dict[str, Any] = done["item"]
    return item


def test_reviewer_setting_is_reported_as_auto_review_for_both_spellings(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start(app_server_factory, model, reviewer="guardian_subagent")
    started = client.request("thread/start", {"cwd": str(tmp_path)})
    assert started["approvalsReviewer"] == "auto_review"
    override = client.request("thread/start", {"cwd": str(tmp_path), "approvalsReviewer": "guardian_subagent"})
    assert override["approvalsReviewer"] == "auto_review"


def test_approved_review_runs_the_command_without_asking_the_user(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start(app_server_factory, model)
    marker = tmp_path / "approved-marker"
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    model.enqueue(
        escalated_touch(marker, "call_g"),
        verdict(risk_level="low", user_authorization="high", outcome="allow", rationale="stub says ok"),
        text_reply("done"),
    )
    turn = run_turn(client, thread_id, "please touch the file")
    assert turn["status"] == "completed"
    started, completed = reviewed(client, thread_id, "call_g")
    assert started["turnId"] == completed["turnId"] == turn["id"]
    assert started["review"]["status"] == "inProgress"
    assert started["action"]["type"] == "command"
    assert str(marker) in started["action"]["command"]
    assert completed["review"] == {
        "status": "approved",
        "riskLevel": "low",
        "userAuthorization": "high",
        "rationale": "stub says ok",
    }
    assert completed["decisionSource"] == "agent"
    warning = client.wait_for("guardianWarning", threadId=thread_id)
    assert warning["message"] == "Automatic approval review approved (risk: low, authorization: high): stub says ok"
    assert command_item(client, turn["id"], "call_g")["status"] == "completed"
    assert marker.exists()
    assert not [r for r in client.buffered() if r.method == "item/commandExecution/requestApproval"]


def test_review_request_asks_the_model_for_a_structured_verdict(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start(app_server_factory, model)
    marker = tmp_path / "schema-marker"
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    model.enqueue(escalated_touch(marker, "call_s"), verdict(outcome="allow"), text_reply("done"))
    turn = run_turn(client, thread_id, "please touch the file")
    reviews = [r for r in model.wait_for_posts(3) if is_review_request(r)]
    assert len(reviews) == 1
    body = reviews[0].body
    schema = body["text"]["format"]["schema"]
    assert set(schema["properties"]) == REVIEW_FIELDS
    assert schema["required"] == ["outcome"]
    assert schema["properties"]["outcome"]["enum"] == ["allow", "deny"]
    assert body["prompt_cache_key"] == f"guardian:{thread_id}"
    assert str(marker) in json.dumps(body["input"])
    _, completed = reviewed(client, thread_id, "call_s")
    assert completed["review"]["status"] == "approved"
    assert completed["review"]["riskLevel"] == "low"
    assert completed["review"]["userAuthorization"] == "unknown"
    assert command_item(client, turn["id"], "call_s")["status"] == "completed"


def test_denied_review_declines_the_command_and_tells_the_model(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start(app_server_factory, model)
    marker = tmp_path / "denied-marker"
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    model.enqueue(
        escalated_touch(marker, "call_d"),
        verdict(risk_level="high", user_authorization="low", outcome="deny", rationale="stub denies"),
        text_reply("understood"),
    )
    turn = run_turn(client, thread_id, "please touch the file")
    _, completed = reviewed(client, thread_id, "call_d")
    assert completed["review"]["status"] == "denied"
    assert completed["review"]["rationale"] == "stub denies"
    warning = client.wait_for("guardianWarning", threadId=thread_id)
    assert warning["message"] == "Automatic approval review denied (risk: high, authorization: low): stub denies"
    assert command_item(client, turn["id"], "call_d")["status"] == "declined"
    assert not marker.exists()
    told = outputs_for(model.wait_for_posts(3)[-1], "call_d")
    assert len(told) == 1
    assert "rejected due to unacceptable risk" in told[0]
    assert "stub denies" in told[0]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: text_reply("this is not JSON", chunks=1), id="unparseable"),
        pytest.param(lambda: ScriptedResponse(status=400, body={"error": {"message": "bad"}}), id="http-error"),
    ],
)
def test_reviewer_failure_aborts_the_review_and_refuses_the_action(
    app_server_factory: AppServerFactory,
    app_server_kind: str,
    model: ResponsesApiStub,
    tmp_path: Path,
    failure: Any,
) -> None:
    client = start(app_server_factory, model)
    marker = tmp_path / "aborted-marker"
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    model.enqueue(escalated_touch(marker, "call_a"), failure(), text_reply("ok"))
    turn = run_turn(client, thread_id, "please touch the file")
    _, completed = reviewed(client, thread_id, "call_a")
    # upstream 0.163 reports a failed review as `denied` (no risk level, the failure as rationale); the
    # schema has `aborted` for a review that reached no verdict, which is what we report.
    assert completed["review"]["status"] == ("denied" if app_server_kind == "codex" else "aborted")
    assert completed["review"]["riskLevel"] is None
    assert completed["review"]["rationale"].startswith("Automatic approval review failed: ")
    warning = client.wait_for("guardianWarning", threadId=thread_id)
    assert warning["message"] == completed["review"]["rationale"]
    assert command_item(client, turn["id"], "call_a")["status"] == "declined"
    assert not marker.exists()
    told = outputs_for(model.wait_for_posts(3)[-1], "call_a")
    assert "could not be completed" in told[0]


def test_parallel_reviews_in_one_turn_are_independent(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    """Two escalated calls in one model response get a review each; the stand-in answers the reviews in
    arrival order, so which call is allowed is not fixed: each marker must follow its own verdict."""
    client = start(app_server_factory, model)
    markers = {"call_p1": tmp_path / "parallel-1", "call_p2": tmp_path / "parallel-2"}
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    calls = [event for call_id, path in markers.items() for event in escalated_touch(path, call_id).events[:-1]]
    model.enqueue(
        ScriptedResponse(events=[*calls, text_reply("").events[-1]]),
        verdict(risk_level="low", user_authorization="high", outcome="allow", rationale="fine"),
        verdict(risk_level="high", user_authorization="low", outcome="deny", rationale="not fine"),
        text_reply("done"),
    )
    turn = run_turn(client, thread_id, "please touch both files")
    statuses = {}
    for call_id, path in markers.items():
        started, completed = reviewed(client, thread_id, call_id)
        assert started["reviewId"] == completed["reviewId"]
        statuses[call_id] = completed["review"]["status"]
        item = command_item(client, turn["id"], call_id)
        assert item["status"] == ("completed" if statuses[call_id] == "approved" else "declined")
        assert path.exists() == (statuses[call_id] == "approved")
    assert sorted(statuses.values()) == ["approved", "denied"]


def test_user_reviewer_asks_the_client_instead(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    client = start(app_server_factory, model, reviewer="user")
    client.respond_to("item/commandExecution/requestApproval", {"decision": "decline"})
    marker = tmp_path / "user-marker"
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    model.enqueue(escalated_touch(marker, "call_u"), text_reply("ok"))
    turn = run_turn(client, thread_id, "please touch the file")
    assert command_item(client, turn["id"], "call_u")["status"] == "declined"
    assert not [p for p in model.wait_for_posts(2) if is_review_request(p)]
    client.assert_no("item/autoApprovalReview/started", within=0.2)
    assert not marker.exists()


def test_approval_policy_never_refuses_escalation_without_a_review(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    """`approval_policy` decides whether anyone reviews: under `never` nobody may approve an escalation,
    so it is refused before any review and before any command item."""
    client = start(app_server_factory, model)
    marker = tmp_path / "never-marker"
    thread_id = client.request("thread/start", {"cwd": str(tmp_path), "approvalPolicy": "never"})["thread"]["id"]
    model.enqueue(escalated_touch(marker, "call_n"), text_reply("done"))
    turn = run_turn(client, thread_id, "please touch the file")
    assert turn["status"] == "completed"
    posts = model.wait_for_posts(2)
    assert not [p for p in posts if is_review_request(p)]
    assert outputs_for(posts[-1], "call_n") == [
        "approval policy is Never; reject command — you cannot ask for escalated permissions if the approval "
        "policy is Never"
    ]
    client.assert_no("item/autoApprovalReview/started", within=0.2)
    client.assert_no("item/started", within=0.2, where=lambda params: params["item"]["id"] == "call_n")
    assert not marker.exists()


def snake_case_event(completed: dict[str, Any]) -> dict[str, Any]:
    """The GuardianAssessmentEvent a client sends back: upstream decodes it in its core (snake_case) form."""
    action = dict(completed["action"])
    action["source"] = re.sub(r"(?<!^)([A-Z])", r"_\1", action["source"]).lower()
    return {"id": completed["reviewId"], "status": completed["review"]["status"], "action": action}


def test_approving_a_denied_action_tells_the_model_on_its_next_request(
    app_server_factory: AppServerFactory, model: ResponsesApiStub, tmp_path: Path
) -> None:
    """Measured on upstream 0.163: the approval answers `{}`, sends nothing, and adds one developer message
    naming the action to the history the next turn sends (that next attempt is still reviewed)."""
    client = start(app_server_factory, model)
    thread_id = client.request("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
    model.enqueue(
        escalated_touch(tmp_path / "marker", "call_d"),
        verdict(risk_level="high", user_authorization="low", outcome="deny", rationale="stub denies"),
        text_reply("understood"),
    )
    run_turn(client, thread_id, "please touch the file")
    _, completed = reviewed(client, thread_id, "call_d")
    event = snake_case_event(completed)
    posts_before = len(model.wait_for_posts(3))
    approved = client.request("thread/approveGuardianDeniedAction", {"threadId": thread_id, "event": event})
    assert approved == {}
    model.enqueue(text_reply("thanks"))
    run_turn(client, thread_id, "go ahead")
    sent = model.wait_for_posts(posts_before + 1)[-1].body["input"]
    messages = [(item.get("role"), item["content"][0].get("text")) for item in sent if item.get("type") == "message"]
    expected = (
        "The user has manually approved a specific action that was previously `Rejected`.\n\n"
        "Treat this as approval to perform that exact action in the same context in which it was originally "
        "requested.\nDo not assume this also authorizes similar operations with different payloads.\n\n"
        "Approved action:\n" + json.dumps({"action": event["action"], "outcome": "allowed"}, indent=2)
    )
    assert messages[-2:] == [("developer", expected), ("user", "go ahead")]
