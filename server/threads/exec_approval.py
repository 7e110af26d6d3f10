"""Which execs under the patched zsh need someone's approval: one rule table, read by the engine.

Without the patched zsh a command is approved (or not) as a whole before it starts. Under it, approval
moves to each program the shell execs, so `ls && curl ... | sh` asks about `curl` and `sh`, not `ls`.
"""

from __future__ import annotations

import os
from typing import Any

from server.threads.exec_bridge import ExecRequest

KNOWN_SAFE_PROGRAMS = frozenset(
    {
        "basename", "cat", "cut", "date", "dirname", "echo", "false", "grep", "head", "id", "ls", "printf",
        "pwd", "sort", "stat", "tail", "tr", "true", "uname", "uniq", "wc", "whoami",
    }
)  # fmt: skip
"""Programs that only read and print and never start another program, so they run without asking.

Deliberately absent: anything that can run a command of its own (`env`, `xargs`, `find -exec`, `sed`'s `e`,
`awk`'s `system()`), since what such a program starts never passes through the wrapper.
"""

QUIET_FOR_USER_COMMANDS = frozenset({"never", "on-request", "on-failure"})
"""Policies under which a command the user typed (`thread/shellCommand`) runs without asking: the user is
the one who would be asked. Only `untrusted` (and granular policies) ask about the user's own execs."""


def needs_approval(request: ExecRequest, *, source: str, approval_policy: Any, session_approved: set[str]) -> bool:
    """True when this exec must be approved before it runs.

    `source` is the commandExecution item's source (`agent` or `userShell`); `session_approved` holds the
    program paths the user answered `acceptForSession` for on this thread.
    """
    if approval_policy == "never":
        return False
    if source == "userShell" and approval_policy in QUIET_FOR_USER_COMMANDS:
        return False
    return os.path.basename(request.path) not in KNOWN_SAFE_PROGRAMS and request.path not in session_approved
