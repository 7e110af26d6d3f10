"""The model's function calls, dispatched by name: one table from tool name to the code that runs it.

Built-in tools (`shell`, `exec_command`) are looked up by name, namespaced tools by their namespace
(`collaboration`), and whatever else the client registered as a dynamic tool is forwarded to the client.
Every handler returns the `function_call_output` the model reads; a bad call is told to the model, it
never fails the turn.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from server.threads import commands, items
from server.threads.dynamic_tools import DynamicTool, model_output, parse_dynamic_tools
from server.threads.rollout import Json
from server.threads.turn import TurnRun

ToolHandler = Callable[[TurnRun, Json], Awaitable[Any]]
DYNAMIC_TOOL_REQUEST = "item/tool/call"
ESCALATION_REFUSED = (
    "approval policy is Never; reject command — "
    "you cannot ask for escalated permissions if the approval policy is Never"
)
"""upstream's answer to an escalation request nobody may approve: refused before any review or item."""


class Tools:
    """The tools of every turn of one server."""

    def __init__(self, namespaces: Mapping[str, ToolHandler]) -> None:
        self.by_name: dict[str, ToolHandler] = {"shell": shell, "exec_command": exec_command}
        self.by_namespace = dict(namespaces)

    async def call(self, turn: TurnRun, call: Json) -> Any:
        """Run one function call from the model; returns the function_call_output's `output`."""
        name = str(call.get("name", ""))
        namespace = call.get("namespace")
        handler = self.by_namespace.get(namespace) if isinstance(namespace, str) else None
        handler = handler or self.by_name.get(name)
        if handler is not None:
            return await handler(turn, call)
        tools = parse_dynamic_tools(turn.settings.dynamic_tools)
        tool = next((t for t in tools if t.model_name == name), None) or next(
            (t for t in tools if t.name == name), None
        )
        if tool is None:
            return f"unsupported call: {name}"
        return await dynamic_call(turn, tool, call)


async def shell(turn: TurnRun, call: Json) -> str:
    """upstream's `shell` tool: an argv run as is."""
    try:
        arguments = json.loads(call.get("arguments") or "{}")
        argv = [str(part) for part in arguments["command"]]
        if not argv:
            raise ValueError("empty command")
    except (ValueError, KeyError, TypeError) as exc:
        return f"invalid shell arguments: {exc}"
    cwd = str(arguments.get("workdir") or turn.settings.cwd)
    timeout = arguments.get("timeout_ms")
    command = commands.Command(
        argv, shlex.join(argv), cwd, "agent", timeout_ms=timeout if isinstance(timeout, int) else None
    )
    told, _ = await commands.run(turn, command)
    return told


async def exec_command(turn: TurnRun, call: Json) -> str:
    """upstream's `exec_command` called as a plain function: a bash script, reviewed like upstream's."""
    try:
        arguments = json.loads(call.get("arguments") or "{}")
        script = str(arguments["cmd"])
    except (ValueError, KeyError, TypeError) as exc:
        return f"invalid exec_command arguments: {exc}"
    if arguments.get("sandbox_permissions") == "require_escalated" and turn.settings.approval_policy == "never":
        return ESCALATION_REFUSED
    login_shell = turn.services.shell()
    # upstream runs these scripts with bash; the patched zsh takes over when configured, so that each
    # program the script starts is approved on its own instead of the script as a whole.
    argv = login_shell.argv(script) if login_shell.patched else ["/bin/bash", "-lc", script]
    cwd = str(arguments.get("workdir") or turn.settings.cwd)
    planned = {
        "tool": "exec_command",
        "command": argv,
        "cwd": cwd,
        "environment_id": "local",
        "justification": arguments.get("justification"),
        "sandbox_permissions": arguments.get("sandbox_permissions") or "use_default",
        "tty": bool(arguments.get("tty", False)),
    }
    command = commands.Command(
        argv,
        shlex.join(argv),
        cwd,
        "agent",
        item_id=call["call_id"],
        planned=planned,
        per_exec_approval=login_shell.patched,
    )
    told, _ = await commands.run(turn, command)
    return told


async def dynamic_call(turn: TurnRun, tool: DynamicTool, call: Json) -> Any:
    """Forward a call to the client (`item/tool/call`) and return what the model gets back."""
    try:
        arguments = json.loads(call.get("arguments") or "{}")
    except ValueError:
        arguments = call.get("arguments")
    item = items.dynamic_tool_call(call["call_id"], tool.namespace, tool.name, arguments)
    turn.item_started(item)
    started = time.monotonic()
    params = {
        "threadId": turn.thread.id,
        "turnId": turn.id,
        "callId": call["call_id"],
        "namespace": tool.namespace,
        "tool": tool.name,
        "arguments": arguments,
    }
    answer: Any
    try:
        answer = await turn.ask_client(DYNAMIC_TOOL_REQUEST, params)
    except LookupError:
        answer = None  # nobody to ask: model_output() reports an invalid response
    except Exception as exc:  # the client failed the call: the model is told, the turn goes on
        answer = {"contentItems": [{"type": "inputText", "text": f"tool call failed: {exc}"}], "success": False}
    output, success = model_output(answer)
    content = answer.get("contentItems") if isinstance(answer, dict) else None
    duration_ms = int((time.monotonic() - started) * 1000)
    turn.item_completed(items.dynamic_tool_finished(item, content=content, success=success, duration_ms=duration_ms))
    return output
