"""The `collaboration` tools: what happens when an agent spawns, messages, waits for or lists agents.

The path rules and the live tree are in server.threads.agents; this module turns one tool call into
threads, turns, mailbox messages and the items upstream reports for them (`subAgentActivity` on the
caller's thread, `collabAgentToolCall` for waits). A failed call never fails the turn: its error text is
the tool output, as upstream does (protocol notes, section 14).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable

from server.threads import agents, items
from server.threads.agents import Agent, AgentPathError, AgentRegistry, AgentTree
from server.threads.rollout import Json
from server.threads.store import ThreadStore
from server.threads.thread import Thread
from server.threads.turn import TurnRun

AgentTurnStarter = Callable[[Thread, Json, str, Callable[[Thread, str], None]], None]
"""Starts a sub-agent's turn on a message: (thread, message, root turn id, on_done(thread, status))."""
CollaborationTool = Callable[[AgentTree, Agent, TurnRun, str, Json], Awaitable[str]]


class Collaboration:
    """Runs `collaboration` tool calls for every thread of one server."""

    def __init__(self, store: ThreadStore, start_agent_turn: AgentTurnStarter) -> None:
        self.store = store
        self.start_agent_turn = start_agent_turn
        self.registry = AgentRegistry()
        self.tools: dict[str, CollaborationTool] = {
            "spawn_agent": self._spawn,
            "send_message": self._send,
            "followup_task": self._followup,
            "wait_agent": self._wait,
            "interrupt_agent": self._interrupt,
            "list_agents": self._list,
        }

    async def call(self, turn: TurnRun, call: Json) -> str:
        name = str(call.get("name", ""))
        handler = self.tools.get(name)
        if handler is None:
            return f"unsupported call: {name}"
        try:
            arguments = json.loads(call.get("arguments") or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as exc:
            return f"failed to parse function arguments: {exc}"
        tree, me = self.registry.agent_of(turn.thread)
        try:
            return await handler(tree, me, turn, call["call_id"], arguments)
        except AgentPathError as exc:
            return str(exc)
        except KeyError as exc:
            return f"failed to parse function arguments: missing field `{exc.args[0]}`"

    # ------------------------------------------------------------------ tools

    async def _spawn(self, tree: AgentTree, me: Agent, turn: TurnRun, call_id: str, args: Json) -> str:
        path = tree.reserve(me, str(args["task_name"]))
        message = str(args["message"])
        parent = me.thread
        settings = dataclasses.replace(parent.settings, model=str(args.get("model") or parent.settings.model))
        nickname = agents.nickname()
        depth = path.count("/") - 1
        source = {
            "subAgent": {
                "thread_spawn": {
                    "parent_thread_id": parent.id,
                    "depth": depth,
                    "agent_path": path,
                    "agent_nickname": nickname,
                    "agent_role": None,
                }
            }
        }
        child = await asyncio.to_thread(
            self.store.create,
            settings,
            source=source,
            originator=str(parent.meta.get("originator") or ""),
            thread_source="subagent",
            parent_thread_id=parent.id,
        )
        child.update_meta(sessionId=tree.root.thread.id, agentNickname=nickname)
        child.subscribers = parent.subscribers
        agent = tree.add(path, child, me)
        self.registry.register(tree, agent)
        if args.get("fork_turns", "all") != "none":
            child.model_history.extend(_settled(parent.model_history))
        child.notify("thread/status/changed", {"threadId": child.id, "status": child.status()})
        effort = args.get("reasoning_effort")
        turn.item_done(items.sub_agent_activity(call_id, "started", child.id, path, settings.model, effort))
        self._start(agent, agents.agent_message("NEW_TASK", me.path, path, message), turn)
        return agents.output({"task_name": path})

    async def _send(self, tree: AgentTree, me: Agent, turn: TurnRun, call_id: str, args: Json) -> str:
        target = tree.find(agents.resolve(me.path, str(args["target"])))
        target.post(agents.agent_message("MESSAGE", me.path, target.path, str(args["message"])))
        turn.item_done(items.sub_agent_activity(call_id, "interacted", target.thread.id, target.path))
        return ""

    async def _followup(self, tree: AgentTree, me: Agent, turn: TurnRun, call_id: str, args: Json) -> str:
        path = agents.resolve(me.path, str(args["target"]))
        if path == agents.ROOT:
            raise AgentPathError("Follow-up tasks can't target the root agent")
        target = tree.find(path)
        message = agents.agent_message("NEW_TASK", me.path, path, str(args["message"]))
        if target.thread.active is None:
            self._start(target, message, turn)
        else:
            target.post(message)
        turn.item_done(items.sub_agent_activity(call_id, "interacted", target.thread.id, target.path))
        return ""

    async def _wait(self, tree: AgentTree, me: Agent, turn: TurnRun, call_id: str, args: Json) -> str:
        item = items.wait_call(call_id, me.thread.id)
        turn.item_started(item)
        if await me.wait_for_mail(agents.wait_seconds(args)):
            result = {"message": "Wait completed.", "timed_out": False}
        else:
            result = {"message": "Wait timed out.", "timed_out": True}
        turn.item_completed(items.wait_finished(item))
        return agents.output(result)

    async def _interrupt(self, tree: AgentTree, me: Agent, turn: TurnRun, call_id: str, args: Json) -> str:
        target = tree.find(agents.resolve(me.path, str(args["target"])))
        running = target.thread.active
        if running is not None and running.task is not None and target is not me:
            running.task.cancel()
            turn.item_done(items.sub_agent_activity(call_id, "interrupted", target.thread.id, target.path))
        return ""

    async def _list(self, tree: AgentTree, me: Agent, turn: TurnRun, call_id: str, args: Json) -> str:
        prefix = args.get("path_prefix")
        resolved = agents.resolve(me.path, prefix) if isinstance(prefix, str) and prefix else None
        return agents.output({"agents": tree.listing(resolved)})

    # ------------------------------------------------------------------ turns and items

    def _start(self, agent: Agent, message: Json, caller_turn: TurnRun) -> None:
        self.start_agent_turn(agent.thread, message, caller_turn.root_turn_id, self._finished)

    def _finished(self, thread: Thread, status: str) -> None:
        """A sub-agent turn ended: its final answer goes to its parent's mailbox."""
        agent = self.registry.agent_of(thread)[1]
        agent.interrupted = status == "interrupted"
        parent = agent.parent
        if parent is None or status != "completed":
            return
        answer = _last_answer(thread)
        agent.last_answer = answer
        parent.post(agents.agent_message("FINAL_ANSWER", agent.path, parent.path, answer))
        turn_id = parent.thread.active.turn["id"] if parent.thread.active is not None else None
        turn_id = turn_id or (parent.thread.turns[-1]["id"] if parent.thread.turns else None)
        if turn_id is not None:
            item_id = f"subagent-completed-{uuid.uuid4()}"
            parent.thread.item_done(turn_id, items.sub_agent_activity(item_id, "completed", thread.id, agent.path))


def _settled(history: list[Json]) -> list[Json]:
    """The parent's history without calls still waiting for their output (the spawn call itself)."""
    answered = {e["item"].get("call_id") for e in history if e["item"].get("type") == "function_call_output"}
    return [
        dict(entry)
        for entry in history
        if entry["item"].get("type") != "function_call" or entry["item"].get("call_id") in answered
    ]


def _last_answer(thread: Thread) -> str:
    turn_id = thread.turns[-1]["id"] if thread.turns else None
    for entry in reversed(thread.model_history):
        item = entry["item"]
        if entry.get("turnId") == turn_id and item.get("type") == "message" and item.get("role") == "assistant":
            return "".join(str(part.get("text", "")) for part in item.get("content", []))
    return ""
