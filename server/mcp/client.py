"""Just enough of an MCP client to learn a server's inventory (MCP specification, revision 2025-06-18).

The handshake is `initialize` then the `notifications/initialized` notification; the inventory is
`tools/list`, and, when the server declares the `resources` capability and the caller wants them,
`resources/list` and `resources/templates/list` (each paged by `nextCursor`). Two transports:

- stdio: the server is a child process; JSON-RPC messages are single lines on its stdin and stdout. Lines are
  bounded (`MAX_LINE_BYTES`) and the child is killed when we are done.
- streamable HTTP: each message is a POST to the endpoint; the answer is `application/json` or a
  `text/event-stream` whose `data:` events carry it. The `Mcp-Session-Id` the server assigns goes along.

A failure is an `McpStartupError` whose text is what upstream reports after "MCP startup failed: ".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from server.mcp.servers import McpServer

PROTOCOL_VERSION = "2025-06-18"
CLIENT_INFO = {"name": "codex-mcp-client", "title": "Codex", "version": "0.163.0"}
MAX_LINE_BYTES = 16 * 1024 * 1024
"""A single MCP message larger than this is refused: tool catalogs are kilobytes, not megabytes."""
MAX_PAGES = 100
"""A listing that keeps handing out cursors past this many pages is cut short."""
REQUEST_TIMEOUT_SECONDS = 30.0


class McpStartupError(Exception):
    """The server could not be started or did not answer the handshake."""


class McpRequestError(Exception):
    """A request after the handshake failed (the server answered an error, or went away)."""


class Transport(Protocol):
    async def request(self, method: str, params: dict[str, Any]) -> Any: ...

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None: ...

    async def aclose(self) -> None: ...


def _result(message: dict[str, Any], method: str) -> Any:
    error = message.get("error")
    if isinstance(error, dict):
        raise McpRequestError(f"{method}: {error.get('message', 'error')} (code {error.get('code')})")
    return message.get("result")


class StdioTransport:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._ids = itertools.count(0)

    @classmethod
    async def launch(cls, server: McpServer) -> StdioTransport:
        assert server.command is not None
        try:
            process = await asyncio.create_subprocess_exec(
                server.command,
                *server.args,
                cwd=server.cwd,
                env={**os.environ, **server.env},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                limit=MAX_LINE_BYTES,
                start_new_session=True,
            )
        except OSError as exc:
            raise McpStartupError(f"{exc.strerror} (os error {exc.errno})") from None
        return cls(process)

    async def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise McpRequestError("Broken pipe (os error 32)") from None

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        request_id = next(self._ids)
        await self._write({"id": request_id, "method": method, "params": params})
        assert self.process.stdout is not None
        while True:
            try:
                line = await self.process.stdout.readline()
            except ValueError:
                raise McpRequestError(f"{method}: a message exceeded {MAX_LINE_BYTES} bytes") from None
            if not line:
                raise McpRequestError(f"connection closed: {method} response")
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue  # servers may log to stdout; the specification forbids it, but skipping is harmless
            if isinstance(message, dict) and message.get("id") == request_id and "method" not in message:
                return _result(message, method)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self._write({"method": method, **({"params": params} if params is not None else {})})

    async def aclose(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()


class HttpTransport:
    def __init__(self, server: McpServer) -> None:
        assert server.url is not None
        self.url = server.url
        headers = {"accept": "application/json, text/event-stream"}
        token = os.environ.get(server.bearer_token_env_var) if server.bearer_token_env_var else None
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS, headers=headers)
        self.session_id: str | None = None
        self._ids = itertools.count(0)

    async def _events(self, response: httpx.Response) -> AsyncIterator[Any]:
        data: list[str] = []
        size = 0
        async for line in response.aiter_lines():
            size += len(line)
            if size > MAX_LINE_BYTES:
                raise McpRequestError(f"an event stream exceeded {MAX_LINE_BYTES} bytes")
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and data:
                yield json.loads("\n".join(data))
                data = []
        if data:
            yield json.loads("\n".join(data))

    async def _post(self, message: dict[str, Any]) -> Any:
        headers = {"mcp-session-id": self.session_id} if self.session_id else {}
        body = {"jsonrpc": "2.0", **message}
        try:
            async with self.client.stream("POST", self.url, json=body, headers=headers) as response:
                self.session_id = response.headers.get("mcp-session-id", self.session_id)
                if response.status_code == 202 or "id" not in message:
                    return None
                if not 200 <= response.status_code < 300:
                    raise McpRequestError(f"HTTP status {response.status_code} from {self.url}")
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    async for event in self._events(response):
                        if isinstance(event, dict) and event.get("id") == message["id"]:
                            return _result(event, message["method"])
                    raise McpRequestError(f"connection closed: {message['method']} response")
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) > MAX_LINE_BYTES:
                        raise McpRequestError(f"a message exceeded {MAX_LINE_BYTES} bytes")
                return _result(json.loads(raw), message["method"])
        except httpx.HTTPError:
            raise McpRequestError(f"error sending request for url ({self.url})") from None
        except json.JSONDecodeError as exc:
            raise McpRequestError(f"invalid JSON from {self.url}: {exc.msg}") from None

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        return await self._post({"id": next(self._ids), "method": method, "params": params})

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self._post({"method": method, **({"params": params} if params is not None else {})})

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass
class Inventory:
    server_info: dict[str, Any]
    capabilities: dict[str, Any]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tools_error: str | None = None
    resources: list[dict[str, Any]] = field(default_factory=list)
    resource_templates: list[dict[str, Any]] = field(default_factory=list)


async def _listing(transport: Transport, method: str, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params = {"cursor": cursor} if cursor else {}
        result = await asyncio.wait_for(transport.request(method, params), REQUEST_TIMEOUT_SECONDS)
        page = result.get(key) if isinstance(result, dict) else None
        if not isinstance(page, list):
            raise McpRequestError(f"{method}: missing field `{key}`")
        items += [item for item in page if isinstance(item, dict)]
        next_cursor = result.get("nextCursor")
        if not isinstance(next_cursor, str) or not next_cursor:
            break
        cursor = next_cursor
    return items


async def _handshake(transport: Transport, server: McpServer) -> dict[str, Any]:
    params = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO}
    try:
        result = await asyncio.wait_for(transport.request("initialize", params), server.startup_timeout)
    except TimeoutError:
        raise McpStartupError(f"timed out handshaking with MCP server after {server.startup_timeout:g}s") from None
    except McpRequestError as exc:
        raise McpStartupError(f"handshaking with MCP server failed: {exc}, when send initialize request") from None
    if not isinstance(result, dict):
        raise McpStartupError("handshaking with MCP server failed: initialize result is not an object")
    try:
        await transport.notify("notifications/initialized")
    except McpRequestError as exc:
        raise McpStartupError(f"handshaking with MCP server failed: {exc}") from None
    return result


async def inventory(server: McpServer, *, with_resources: bool) -> Inventory:
    """Start `server`, learn what it offers, stop it. Raises McpStartupError when it cannot be reached."""
    transport: Transport
    if server.command is not None:
        transport = await StdioTransport.launch(server)
    elif server.url is not None:
        transport = HttpTransport(server)
    else:
        raise McpStartupError("server has neither `command` nor `url`")
    try:
        initialized = await _handshake(transport, server)
        info = initialized.get("serverInfo")
        capabilities = initialized.get("capabilities")
        found = Inventory(
            info if isinstance(info, dict) else {}, capabilities if isinstance(capabilities, dict) else {}
        )
        try:
            found.tools = await _listing(transport, "tools/list", "tools")
        except (McpRequestError, TimeoutError) as exc:
            found.tools_error = f"failed to list tools: {exc or 'timed out'}"
        if with_resources and "resources" in found.capabilities:
            with contextlib.suppress(McpRequestError, TimeoutError):
                found.resources = await _listing(transport, "resources/list", "resources")
            with contextlib.suppress(McpRequestError, TimeoutError):
                found.resource_templates = await _listing(transport, "resources/templates/list", "resourceTemplates")
        return found
    finally:
        await transport.aclose()
