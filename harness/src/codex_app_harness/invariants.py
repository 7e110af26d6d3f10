"""Protocol invariants every app-server keeps, checked on the wire for every connection.

A test asserts what it is about; these hold for every test, so a server that answers a request twice or
leaves a turn open fails any test that happens to trigger it, with the transcript showing where. Each one
can be turned off by name (see the pytest plugin) for a test that breaks it on purpose.

Observation is at read time, before chaos delays delivery: the invariants are about what the server sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ANSWERED_ONCE = "answered-once"
TURN_COMPLETED = "turn-completed"
SILENT_AFTER_CLOSE = "silent-after-close"
NO_LATE_RESPONSE = "no-late-response"

INVARIANTS = {
    ANSWERED_ONCE: "every request the client sends is answered exactly once",
    TURN_COMPLETED: "every turn/started is followed by a terminal turn/completed for that turn by the end of the test",
    SILENT_AFTER_CLOSE: "no notification for a thread after its thread/closed",
    NO_LATE_RESPONSE: "no response arrives after its request timed out",
}

TERMINAL_TURN_STATUSES = frozenset({"completed", "interrupted", "failed"})
"""`TurnStatus` in upstream's schema, less `inProgress`."""


@dataclass(frozen=True)
class Violation:
    invariant: str
    message: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.message}"


def _id_key(request_id: Any) -> str:
    return json.dumps(request_id)


class InvariantChecker:
    """Watches one connection's messages; `violations` holds what broke as it happened, `unfinished()`
    what is still open (requests unanswered, turns not completed) when the test ends."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self._awaiting: dict[str, str] = {}
        """Requests sent and not yet answered: id key -> method."""
        self._answered: dict[str, str] = {}
        self._timed_out: dict[str, str] = {}
        self._open_turns: dict[str, str] = {}
        """turn id -> thread id, from turn/started until its terminal turn/completed."""
        self._turn_roots: dict[str, str] = {}
        """open turn id -> the `rootTurnId` its turn/started named, when it named one."""
        self._closed_threads: set[str] = set()

    # ------------------------------------------------------------------ what the client sends

    def client_sent(self, message: Any) -> None:
        """A message the client wrote. One with a method and an id is a request, owed one answer (an object
        with an id and nothing else is neither request nor response: upstream drops it unanswered)."""
        if isinstance(message, list):  # a batch: each element is its own request
            for element in message:
                self.client_sent(element)
            return
        if not isinstance(message, dict) or "id" not in message or "method" not in message:
            return
        key = _id_key(message["id"])
        self._awaiting[key] = str(message.get("method"))
        self._answered.pop(key, None)
        self._timed_out.pop(key, None)

    def request_timed_out(self, request_id: Any) -> None:
        key = _id_key(request_id)
        method = self._awaiting.pop(key, None)
        if method is not None:
            self._timed_out[key] = method

    # ------------------------------------------------------------------ what the server sends

    def response(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        key = _id_key(request_id)
        method = self._awaiting.pop(key, None)
        if method is not None:
            self._answered[key] = method
            self._reopen_threads(message.get("result"))
        elif key in self._timed_out:
            self._broken(
                NO_LATE_RESPONSE,
                f"response to {self._timed_out.pop(key)} (id {request_id!r}) arrived after the request timed out",
            )
        elif key in self._answered:
            self._broken(ANSWERED_ONCE, f"second response to {self._answered[key]} (id {request_id!r})")
        elif request_id is not None:  # `"id": null` is how a parse error is answered (JSON-RPC 2.0, section 5)
            self._broken(ANSWERED_ONCE, f"response with id {request_id!r}, which the client never sent")

    def notification(self, method: str, params: dict[str, Any]) -> None:
        if self._closed_threads:
            thread_id = params.get("threadId")
            if thread_id in self._closed_threads:
                self._broken(SILENT_AFTER_CLOSE, f"{method} for thread {thread_id!r} after its thread/closed")
        if method == "turn/started":
            turn_id, thread_id = _turn_of(params)
            if turn_id is not None:
                self._open_turns[turn_id] = str(thread_id)
                root = params["turn"].get("rootTurnId")
                if isinstance(root, str) and root != turn_id:
                    self._turn_roots[turn_id] = root
        elif method == "turn/completed":
            turn_id, _ = _turn_of(params)
            turn = params.get("turn")
            status = turn.get("status") if isinstance(turn, dict) else None
            if turn_id is not None and status in TERMINAL_TURN_STATUSES:
                self._complete_turn(turn_id)
        elif method == "thread/closed":
            if isinstance(params.get("threadId"), str):
                self._closed_threads.add(params["threadId"])
        elif method == "thread/started":
            self._reopen_threads(params)

    def _complete_turn(self, turn_id: str) -> None:
        """Close `turn_id` and every open turn started under it as their root. Upstream 0.163's review turn
        announces itself in turn/started with an id of its own and `rootTurnId` set to the id that
        review/start answered, then completes under that root id."""
        for open_id in [turn_id, *(child for child, root in self._turn_roots.items() if root == turn_id)]:
            self._open_turns.pop(open_id, None)
            self._turn_roots.pop(open_id, None)

    def _reopen_threads(self, payload: Any) -> None:
        """A thread resumed, forked or started again is open: its notifications are expected again."""
        if self._closed_threads and isinstance(payload, dict):
            thread = payload.get("thread")
            if isinstance(thread, dict):
                self._closed_threads.discard(thread.get("id"))

    def _broken(self, invariant: str, message: str) -> None:
        self.violations.append(Violation(invariant, message))

    # ------------------------------------------------------------------ at the end of a test

    def settled(self) -> bool:
        """Nothing the server still owes: every request answered, every turn completed."""
        return not self._awaiting and not self._open_turns

    def unfinished(self) -> list[Violation]:
        """What the server still owes at the end of a test."""
        owed = [
            Violation(ANSWERED_ONCE, f"{method} (id {json.loads(key)!r}) was never answered")
            for key, method in self._awaiting.items()
        ]
        owed.extend(
            Violation(TURN_COMPLETED, f"turn {turn_id!r} of thread {thread_id!r} started and never completed")
            for turn_id, thread_id in self._open_turns.items()
        )
        return owed


def _turn_of(params: dict[str, Any]) -> tuple[str | None, Any]:
    turn = params.get("turn")
    turn_id = turn.get("id") if isinstance(turn, dict) else None
    return (turn_id if isinstance(turn_id, str) else None), params.get("threadId")
