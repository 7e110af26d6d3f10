"""Agent paths: the main agent of a thread is `/root`, the agents it spawns live below it.

A root thread and the sub-agents spawned from it form one tree of paths (`/root/agent_1`,
`/root/agent_1/sub`); each sub-agent is a thread of its own, linked to its parent. Agents address each
other by canonical path or relative to themselves (`agent_1` from `/root` is `/root/agent_1`; there is no
`..` navigation), through the `collaboration` tool namespace. Names, tool schemas, outputs and error
texts follow upstream 0.163's multi-agent v2 (protocol notes, section 14), because a model trained on
upstream's transcripts relies on them.

The pure path rules come first (validated and resolved without any thread); `AgentTree` then holds the
live agents of one root thread and their mailboxes.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.threads.rollout import Json

if TYPE_CHECKING:
    from server.threads.thread import Thread

ROOT = "/root"
NAMESPACE = "collaboration"
NAME_PATTERN = re.compile(r"[a-z0-9_]+")
RESERVED_NAMES = frozenset({".", ".."})
WAIT_DEFAULT_MS = 30_000
WAIT_MIN_MS = 10_000
WAIT_MAX_MS = 3_600_000
NICKNAMES = ("Mill", "Ada", "Birch", "Cato", "Dune", "Echo", "Fern", "Gale", "Hale", "Iris", "Juno", "Kite")
"""Display names for sub-agent threads (upstream picks one at random too)."""


class AgentPathError(Exception):
    """A name or path the model gave is not usable; the message goes back to the model as the tool output."""


def validate_name(name: str) -> None:
    """One path segment as the model may choose it."""
    if "/" in name:
        raise AgentPathError("agent_name must not contain `/`")
    if name in RESERVED_NAMES:
        raise AgentPathError(f"agent_name `{name}` is reserved")
    if not name:
        raise AgentPathError("agent_name must not be empty")
    if not NAME_PATTERN.fullmatch(name):
        raise AgentPathError("agent_name must use only lowercase letters, digits, and underscores")


def child_path(parent: str, name: str) -> str:
    validate_name(name)
    return f"{parent}/{name}"


def resolve(caller: str, target: str) -> str:
    """The canonical path `target` names when `caller` uses it: absolute as is, relative below the caller."""
    if target == ROOT or target.startswith(ROOT + "/"):
        segments = target[len(ROOT) + 1 :].split("/") if target != ROOT else []
        base = ROOT
    elif target.startswith("/"):
        raise AgentPathError(f"live agent path `{target}` not found")
    else:
        segments = target.split("/")
        base = caller
    for segment in segments:
        validate_name(segment)
    return "/".join([base, *segments])


def is_within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


# ---------------------------------------------------------------------------------------------- messages


def agent_message(kind: str, author: str, recipient: str, payload: str) -> Json:
    """One message between agents as the model reads it (upstream's `agent_message` input item).

    Task payloads travel as `encrypted_content` (the model's own encrypted text, passed through); a final
    answer is plain text after the header.
    """
    header = f"Message Type: {kind}\nTask name: {recipient}\nSender: {author}\nPayload:\n"
    content: list[Json]
    if kind == "FINAL_ANSWER":
        content = [{"type": "input_text", "text": header + payload}]
    else:
        content = [{"type": "input_text", "text": header}, {"type": "encrypted_content", "encrypted_content": payload}]
    return {"type": "agent_message", "author": author, "recipient": recipient, "content": content}


# ---------------------------------------------------------------------------------------------- tools


def _function(name: str, description: str, properties: Json, required: list[str]) -> Json:
    return {
        "type": "function",
        "name": name,
        "description": description,
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    }


_TARGET = {"type": "string", "description": "Relative or canonical task name of the target agent."}
_MESSAGE = {"type": "string", "description": "The message to deliver.", "encrypted": True}

TOOLS: Json = {
    "type": "namespace",
    "name": NAMESPACE,
    "description": "Tools for spawning and managing sub-agents.",
    "tools": [
        _function(
            "spawn_agent",
            "Start a sub-agent on a task. If your current task is `/root/task1` and you spawn_agent with task_name "
            '"task_3" the agent will have canonical task name `/root/task1/task_3`. You are then able to refer to '
            "this agent as `task_3` or `/root/task1/task_3` interchangeably. However an agent `/root/task2/task_3` "
            "would only be able to communicate with this agent via its canonical name.",
            {
                "task_name": {"type": "string", "description": "Use lowercase letters, digits, and underscores."},
                "message": _MESSAGE,
                "fork_turns": {
                    "type": "string",
                    "enum": ["all", "none"],
                    "description": "Whether the agent starts with your conversation (`all`, default) or none.",
                },
                "model": {"type": "string", "description": "Model override for the agent."},
                "reasoning_effort": {"type": "string", "description": "Reasoning effort override."},
            },
            ["task_name", "message"],
        ),
        _function(
            "send_message",
            "Send a message to another agent. Does not trigger a new turn.",
            {"target": _TARGET, "message": _MESSAGE},
            ["target", "message"],
        ),
        _function(
            "followup_task",
            "Give an existing non-root target agent a new task and trigger a turn if it is idle.",
            {"target": _TARGET, "message": _MESSAGE},
            ["target", "message"],
        ),
        _function(
            "wait_agent",
            "Wait until a message from another agent arrives or the timeout passes.",
            {
                "timeout_ms": {
                    "type": "number",
                    "description": f"Default {WAIT_DEFAULT_MS}, min {WAIT_MIN_MS}, max {WAIT_MAX_MS}.",
                }
            },
            [],
        ),
        _function("interrupt_agent", "Interrupt the running turn of an agent.", {"target": _TARGET}, ["target"]),
        _function(
            "list_agents",
            "List the live agents and their status.",
            {"path_prefix": {"type": "string", "description": "Only agents at or below this path."}},
            [],
        ),
    ],
}


def output(value: Any) -> str:
    """A tool result as upstream serialises it (compact JSON)."""
    return json.dumps(value, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------- live tree


@dataclass(eq=False)
class Agent:
    path: str
    thread: Thread
    parent: Agent | None
    mailbox: list[Json] = field(default_factory=list)
    """Messages for this agent's model, delivered into its history before its next model request."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    received: int = 0
    waited: int = 0
    """Messages counted at the end of this agent's last wait: mail that came in between (even if already
    delivered into its history) ends the next wait at once, so a fast sub-agent cannot be missed."""
    last_answer: str | None = None
    interrupted: bool = False

    def post(self, message: Json) -> None:
        self.mailbox.append(message)
        self.received += 1
        self.arrived.set()

    def take_mail(self) -> list[Json]:
        mail, self.mailbox = self.mailbox, []
        return mail

    async def wait_for_mail(self, seconds: float) -> bool:
        """True when mail arrived since the last wait, False when `seconds` passed without any."""
        if self.received == self.waited:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), seconds)
            except TimeoutError:
                return False
        self.waited = self.received
        return True

    def status(self) -> Any:
        if self.thread.active is not None:
            return "running"
        if self.interrupted:
            return "interrupted"
        if self.last_answer is not None:
            return {"completed": self.last_answer}
        return "pending_init"


class AgentTree:
    """The live agents of one root thread, by canonical path."""

    def __init__(self, root: Thread) -> None:
        self.root = Agent(ROOT, root, None)
        self.agents: dict[str, Agent] = {ROOT: self.root}

    def find(self, path: str) -> Agent:
        agent = self.agents.get(path)
        if agent is None:
            raise AgentPathError(f"live agent path `{path}` not found")
        return agent

    def reserve(self, parent: Agent, name: str) -> str:
        path = child_path(parent.path, name)
        if path in self.agents:
            raise AgentPathError(f"agent path `{path}` already exists")
        return path

    def add(self, path: str, thread: Thread, parent: Agent) -> Agent:
        agent = Agent(path, thread, parent)
        self.agents[path] = agent
        return agent

    def listing(self, prefix: str | None) -> list[Json]:
        return [
            {"agent_name": path, "agent_status": agent.status()}
            for path, agent in self.agents.items()
            if prefix is None or is_within(path, prefix)
        ]


class AgentRegistry:
    """Every agent tree of one server, found from any of its threads."""

    def __init__(self) -> None:
        self._by_thread: dict[str, tuple[AgentTree, Agent]] = {}

    def agent_of(self, thread: Thread) -> tuple[AgentTree, Agent]:
        """The tree and agent a thread is; a thread nobody spawned is the root of a new tree."""
        found = self._by_thread.get(thread.id)
        if found is None:
            tree = AgentTree(thread)
            found = (tree, tree.root)
            self._by_thread[thread.id] = found
        return found

    def register(self, tree: AgentTree, agent: Agent) -> None:
        self._by_thread[agent.thread.id] = (tree, agent)

    def pending_mail(self, thread: Thread) -> list[Json]:
        found = self._by_thread.get(thread.id)
        return found[1].take_mail() if found is not None else []


def nickname() -> str:
    return random.choice(NICKNAMES)


def wait_seconds(arguments: Json) -> float:
    raw = arguments.get("timeout_ms", WAIT_DEFAULT_MS)
    timeout = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else WAIT_DEFAULT_MS
    return min(WAIT_MAX_MS, max(WAIT_MIN_MS, timeout)) / 1000
