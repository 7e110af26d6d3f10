"""What a turn sends to the Responses API: the request body built from a thread's history and tools, and
the headers that name the thread (upstream sends `session-id` and `thread-id` on every request)."""

from __future__ import annotations

from server.threads import agents, prompts
from server.threads.dynamic_tools import parse_dynamic_tools
from server.threads.rollout import Json
from server.threads.thread import Thread


def body(thread: Thread) -> Json:
    """The streamed request for the thread's next model round: everything the model has seen so far."""
    history = [entry["item"] for entry in thread.model_history]
    visible = [tool.spec() for tool in parse_dynamic_tools(thread.settings.dynamic_tools) if not tool.deferred]
    return {
        "model": thread.settings.model,
        "instructions": prompts.BASE_INSTRUCTIONS,
        "input": [prompts.environment_context(thread.settings.cwd), *history],
        "tools": [prompts.SHELL_TOOL, *visible, agents.TOOLS],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "store": False,
        "stream": True,
        "prompt_cache_key": thread.id,
    }


def headers(base: dict[str, str], thread: Thread) -> dict[str, str]:
    return {**base, "session-id": thread.id, "thread-id": thread.id}
