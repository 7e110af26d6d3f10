"""Streaming client for a Responses-compatible model API (`POST {base}/responses`, server-sent events).

What we send and require follows what upstream 0.163 was measured to need (protocol notes, section 6):
events are dispatched on the JSON `type` inside each `data:` line; a stream is complete only when
`response.completed` (with a response id) arrives. Server errors and streams that end early are retried
with exponential backoff; a 429 usage-limit answer is never retried (retrying cannot help and upstream
does not). Errors surface as `ModelError` carrying what the turn needs to report.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_ATTEMPTS = 5
"""Attempts for one model request; upstream also gives up after 5 reconnects."""
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 10.0
IDLE_TIMEOUT_SECONDS = 300.0
"""Longest silence inside a stream before we treat it as dropped."""


@dataclass
class ModelError(Exception):
    """A model request that failed for good; `status` is the HTTP status when there was one."""

    message: str
    status: int | None = None
    body: dict[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    retryable: bool = False

    def __str__(self) -> str:
        return self.message


class StreamDropped(Exception):
    """The stream ended before `response.completed`: retried, then reported."""


async def _events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Decode an SSE body into JSON events (the `event:` line is optional; `data:` carries the type)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif line == "" and data:
            payload = "\n".join(data)
            data = []
            if payload == "[DONE]":
                return
            try:
                event = json.loads(payload)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event


def _error_from(response: httpx.Response, body_text: str) -> ModelError:
    try:
        body = json.loads(body_text) if body_text else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    message = str(error.get("message") or body_text[:200] or response.reason_phrase)
    return ModelError(
        f"model request failed with status {response.status_code}: {message}",
        status=response.status_code,
        body=body,
        headers=dict(response.headers),
        retryable=response.status_code >= 500 or response.status_code == 408,
    )


class ResponsesClient:
    """One per server process: a pooled HTTP client against `base_url`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        timeout = httpx.Timeout(IDLE_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
        self._http = httpx.AsyncClient(timeout=timeout)

    async def stream(
        self,
        body: dict[str, Any],
        headers: Mapping[str, str],
        *,
        on_retry: Any = None,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield events of one completed response, retrying failed attempts from scratch.

        A retry replays the whole request, so callers must treat events of a failed attempt as void:
        `on_retry(attempt, error)` is called before each retry so they can reset partial state;
        `on_headers(headers)` gets each answer's headers (rate limits travel there, errors included).
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async for event in self._attempt(body, headers, on_headers):
                    yield event
                return
            except (StreamDropped, httpx.TransportError, ModelError) as exc:
                retryable = not isinstance(exc, ModelError) or exc.retryable
                if not retryable or attempt == MAX_ATTEMPTS:
                    if isinstance(exc, ModelError):
                        raise
                    raise ModelError(f"stream disconnected before completion: {exc}") from None
                if on_retry is not None:
                    on_retry(attempt, exc)
                await asyncio.sleep(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))

    async def _attempt(
        self,
        body: dict[str, Any],
        headers: Mapping[str, str],
        on_headers: Callable[[Mapping[str, str]], None] | None,
    ) -> AsyncIterator[dict[str, Any]]:
        request_headers = {"accept": "text/event-stream", "content-type": "application/json", **headers}
        async with self._http.stream(
            "POST", f"{self.base_url}/responses", content=json.dumps(body), headers=request_headers
        ) as response:
            if on_headers is not None:
                on_headers(response.headers)
            if response.status_code != 200:
                raise _error_from(response, (await response.aread()).decode(errors="replace"))
            async for event in _events(response):
                yield event
                if event.get("type") == "response.completed":
                    return
                if event.get("type") in {"response.failed", "error"}:
                    detail = event.get("response", {}).get("error") or event.get("error") or {}
                    raise ModelError(f"model reported an error: {detail.get('message', 'unknown error')}")
        raise StreamDropped("stream closed before response.completed")

    async def aclose(self) -> None:
        await self._http.aclose()
