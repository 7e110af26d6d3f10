"""Text the model sees besides the conversation itself, in the forms upstream uses.

The markers matter beyond wording: a model trained on upstream's transcripts recognises an interrupted turn
by `<turn_aborted>` and a user-typed command by `<user_shell_command>` (protocol notes, section 12).
"""

from __future__ import annotations

import os
from typing import Any

BASE_INSTRUCTIONS = (
    "You are a coding agent running in an app-server. Work in the user's workspace, use the shell tool to "
    "inspect and change files when needed, and keep answers short and precise."
)

TURN_ABORTED = (
    "<turn_aborted>\n"
    "The previous turn was interrupted on purpose. Any running unified exec processes may still be running "
    "in the background. If any tools/commands were aborted, they may have partially executed.\n"
    "</turn_aborted>"
)

SHELL_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "shell",
    "description": "Runs a command in the thread's working directory and returns its exit code and output.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "array", "items": {"type": "string"}, "description": "argv of the command"},
            "workdir": {"type": "string", "description": "working directory (default: the thread's cwd)"},
            "timeout_ms": {"type": "number", "description": "timeout in milliseconds"},
        },
        "required": ["command"],
        "additionalProperties": False,
    },
}


def message(role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def environment_context(cwd: str) -> dict[str, Any]:
    shell = os.path.basename(os.environ.get("SHELL", "bash"))
    return message(
        "user",
        f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <shell>{shell}</shell>\n</environment_context>",
    )


def turn_aborted() -> dict[str, Any]:
    return message("developer", TURN_ABORTED)


def user_shell_command(command: str, exit_code: int, duration_s: float, output: str) -> dict[str, Any]:
    """What the model is told about a `!` command the user ran (upstream's exact layout)."""
    return message(
        "user",
        "<user_shell_command>\n<command>\n"
        f"{command}\n</command>\n<result>\nExit code: {exit_code}\nDuration: {duration_s:.4f} seconds\n"
        f"Output:\n{output}\n</result>\n</user_shell_command>",
    )
