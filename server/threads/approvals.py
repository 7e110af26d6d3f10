"""Who may let a command run: the policy, then the automatic reviewer or the client that started the turn.

`approval_policy` decides whether anyone is asked; `approvals_reviewer` decides who: the client (the
connection that started the turn first, see `TurnRun.ask_client`), or the automatic reviewer
(server.threads.guardian). Every path fails closed: no answer means no command.
"""

from __future__ import annotations

import uuid
from typing import Any

from server.config.reviewer import normalise
from server.threads import exec_approval, guardian
from server.threads.exec_bridge import ExecDecision, ExecRequest
from server.threads.ids import now_ms
from server.threads.items import CommandExecutionItem, unknown_action
from server.threads.rollout import Json
from server.threads.turn import TurnRun

APPROVAL_REQUEST = "item/commandExecution/requestApproval"
APPROVED = frozenset({"accept", "acceptForSession"})


class Approvals:
    """The approval questions of one turn."""

    def __init__(self, run: TurnRun) -> None:
        self.run = run

    @property
    def auto_reviewed(self) -> bool:
        """Whether the automatic reviewer (server.threads.guardian) answers this thread's approvals."""
        return normalise(self.run.settings.approvals_reviewer) == "auto_review"

    async def refusal(self, item: CommandExecutionItem, planned: Json) -> str | None:
        """Why the command must not run (told to the model), or None when it may run."""
        if self.run.settings.approval_policy == "never":
            return None
        if self.auto_reviewed:
            return await self.auto_review(item, planned)
        if approves(await self.client_decision(item)):
            return None
        return "The user declined to run this command."

    async def auto_review(self, item: CommandExecutionItem, planned: Json) -> str | None:
        """Review by a reviewer model request, reported as item/autoApprovalReview/started|completed."""
        run = self.run
        thread = run.thread
        source = "unifiedExec" if planned.get("tool") == "exec_command" else "shell"
        action = {"type": "command", "source": source, "command": item["command"], "cwd": item["cwd"]}
        review_id = str(uuid.uuid4())
        common = {"threadId": thread.id, "turnId": run.id, "startedAtMs": now_ms(), "reviewId": review_id}
        pending = {"status": "inProgress", "riskLevel": None, "userAuthorization": None, "rationale": None}
        run.notify(
            "item/autoApprovalReview/started",
            {**common, "targetItemId": item["id"], "review": pending, "action": action},
        )
        target = run.services.target()
        history = [entry["item"] for entry in thread.model_history]
        body = guardian.request_body(thread.id, history, planned)
        verdict = await guardian.review(target.client, {**target.headers, "session-id": thread.id}, body)
        run.notify("guardianWarning", {"threadId": thread.id, "message": verdict.warning()})
        run.notify(
            "item/autoApprovalReview/completed",
            {
                **common,
                "completedAtMs": now_ms(),
                "targetItemId": item["id"],
                "decisionSource": "agent",
                "review": verdict.wire(),
                "action": action,
            },
        )
        return verdict.refusal()

    async def client_decision(self, item: CommandExecutionItem, approval_id: str | None = None) -> Any:
        """Ask the client; None when it cannot answer (nobody follows, an error, it went away): fail closed.

        `approval_id` tells apart several approvals for one item (each exec of a patched-zsh command).
        `cancel` declines and, as the schema defines it, interrupts the turn at once: the turn's task is
        cancelled here, so its next await ends it as interrupted, exactly like `turn/interrupt`.
        """
        params = {
            "threadId": self.run.thread.id,
            "turnId": self.run.id,
            "itemId": item["id"],
            "startedAtMs": now_ms(),
            "command": item["command"],
            "cwd": item["cwd"],
            "commandActions": item["commandActions"],
            "reason": None,
        }
        if approval_id is not None:
            params["approvalId"] = approval_id
        try:
            answer = await self.run.ask_client(APPROVAL_REQUEST, params)
        except Exception:  # nobody to ask, the client refused, or it went away: fail closed
            return None
        decision = answer.get("decision") if isinstance(answer, dict) else None
        if decision == "cancel":
            self.run.cancel()
        return decision

    async def decide_exec(self, item: CommandExecutionItem, request: ExecRequest) -> ExecDecision:
        """One program the patched zsh is about to exec for `item`: run it, or refuse with a reason.

        The rules are server.threads.exec_approval's; the question goes to whoever reviews this thread's
        approvals, as one approval (its own approvalId) under the command's item.
        """
        thread = self.run.thread
        rule_says_ask = exec_approval.needs_approval(
            request,
            source=item["source"],
            approval_policy=thread.settings.approval_policy,
            session_approved=thread.approved_programs,
        )
        if not rule_says_ask:
            return ExecDecision(True)
        asked = item.copy()
        asked["command"], asked["cwd"] = request.display, request.cwd
        asked["commandActions"] = [unknown_action(request.display)]
        if self.auto_reviewed:
            refusal = await self.auto_review(asked, {"command": request.argv, "cwd": request.cwd})
            return ExecDecision(refusal is None, refusal or "")
        decision = await self.client_decision(asked, approval_id=str(uuid.uuid4()))
        if decision == "acceptForSession":
            thread.approved_programs.add(request.path)
        if approves(decision):
            return ExecDecision(True)
        return ExecDecision(False, f"the user declined to run {request.path}")


def approves(decision: Any) -> bool:
    return decision in APPROVED or (isinstance(decision, dict) and "acceptWithExecpolicyAmendment" in decision)
