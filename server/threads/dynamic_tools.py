"""Client-implemented ("dynamic") tools registered at thread/start.

The client describes functions, optionally grouped in namespaces; the model calls them like any function
and the server forwards each call to the client (`item/tool/call`) and hands the answer back to the model.
A tool marked `deferLoading` stays out of what the model is shown (upstream requires such tools to sit in
a namespace) yet remains callable, e.g. by another tool that knows its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.protocol.errors import InvalidRequest

NAMESPACE_SEPARATOR = "__"
"""A namespaced tool is offered to the model as `<namespace>__<name>`, the name upstream's code mode uses."""


@dataclass(frozen=True)
class DynamicTool:
    name: str
    namespace: str | None
    description: str
    input_schema: Any
    deferred: bool

    @property
    def model_name(self) -> str:
        return f"{self.namespace}{NAMESPACE_SEPARATOR}{self.name}" if self.namespace else self.name

    def spec(self) -> dict[str, Any]:
        """The function tool as the Responses API takes it."""
        parameters = self.input_schema if isinstance(self.input_schema, dict) else {"type": "object"}
        return {
            "type": "function",
            "name": self.model_name,
            "description": self.description,
            "parameters": parameters,
            "strict": False,
        }


def parse_dynamic_tools(raw: list[Any] | None) -> list[DynamicTool]:
    """Validate thread/start's `dynamicTools` (shapes from upstream's DynamicToolSpec)."""
    tools: list[DynamicTool] = []
    for entry in raw or []:
        if not isinstance(entry, dict):
            raise InvalidRequest("Invalid request: dynamicTools entries must be objects")
        if entry.get("type") == "namespace":
            namespace = str(entry.get("name", ""))
            if not namespace:
                raise InvalidRequest("Invalid request: missing field `name`")
            for inner in entry.get("tools") or []:
                tools.append(_function(inner, namespace))
        else:
            tool = _function(entry, None)
            if tool.deferred:
                raise InvalidRequest(f"deferred dynamic tool must include a namespace: {tool.name}")
            tools.append(tool)
    names = [tool.model_name for tool in tools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidRequest(f"duplicate dynamic tool name: {duplicates[0]}")
    return tools


def _function(entry: Any, namespace: str | None) -> DynamicTool:
    if not isinstance(entry, dict):
        raise InvalidRequest("Invalid request: dynamic tools must be objects")
    for key in ("name", "inputSchema"):
        if key not in entry:
            raise InvalidRequest(f"Invalid request: missing field `{key}`")
    return DynamicTool(
        name=str(entry["name"]),
        namespace=namespace,
        description=str(entry.get("description", "")),
        input_schema=entry["inputSchema"],
        deferred=bool(entry.get("deferLoading", False)),
    )


def to_wire(tools: list[DynamicTool]) -> list[dict[str, Any]]:
    """Back to the client's shape, for persisting the thread's settings."""
    flat: list[dict[str, Any]] = []
    namespaces: dict[str, dict[str, Any]] = {}
    for tool in tools:
        function = {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "inputSchema": tool.input_schema,
            "deferLoading": tool.deferred,
        }
        if tool.namespace is None:
            flat.append(function)
        else:
            group = namespaces.setdefault(
                tool.namespace, {"type": "namespace", "name": tool.namespace, "description": "", "tools": []}
            )
            group["tools"].append(function)
    return [*flat, *namespaces.values()]


def model_output(answer: Any) -> tuple[Any, bool]:
    """What the model gets back from a client's DynamicToolCallResponse, and whether it succeeded.

    A single text item becomes a plain string (as upstream sends it); anything else a content list.
    """
    if not isinstance(answer, dict):
        return "dynamic tool returned an invalid response", False
    raw_items = answer.get("contentItems")
    items: list[Any] = raw_items if isinstance(raw_items, list) else []
    success = bool(answer.get("success", True))
    if len(items) == 1 and isinstance(items[0], dict) and items[0].get("type") == "inputText":
        return str(items[0].get("text", "")), success
    content: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "inputText":
            content.append({"type": "input_text", "text": str(item.get("text", ""))})
        elif item.get("type") == "inputImage":
            content.append({"type": "input_image", "image_url": str(item.get("imageUrl", ""))})
    return content, success
