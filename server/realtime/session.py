"""One realtime conversation of a thread, and its single way to end.

Every ending (a refused start, a failed send, the server's `error` event, a dropped connection, a clean
close, an explicit stop, a replacement by a new start) goes through `_shutdown()`. It runs once: it clears
the session's state, cancels its tasks, closes the socket, and emits at most one `thread/realtime/error`
and exactly one `thread/realtime/closed`. Upstream sends no `closed` when the start itself fails; we do, so
a client can treat "closed" as the one signal that the session is over (the tests document the difference).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from server.realtime import wire

Notify = Callable[[str, dict[str, Any]], None]
HandoffRunner = Callable[[str], Awaitable[str]]
CONNECT_TIMEOUT_SECONDS = 10.0
MAX_FRAME_BYTES = 16 * 1024 * 1024


@dataclass
class SessionConfig:
    url: str
    api_key: str
    version: wire.Version
    output_modality: str
    voice: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Segment:
    """A transcript segment being streamed: one timeline item per role until its `done`."""

    item: dict[str, Any]


def delegation_prompt(prompt: str, transcript: list[dict[str, str]]) -> str:
    """The user message a handoff turn starts with (upstream's `<realtime_delegation>` layout)."""
    lines = "\n".join(f"{entry['role']}: {entry['text']}" for entry in transcript)
    return (
        f"<realtime_delegation>\n  <input>{prompt}</input>\n"
        f"  <transcript_delta>{lines}</transcript_delta>\n</realtime_delegation>"
    )


class RealtimeSession:
    def __init__(self, thread_id: str, config: SessionConfig, notify: Notify, run_handoff: HandoffRunner) -> None:
        self.thread_id = thread_id
        self.config = config
        self._notify = notify
        self._run_handoff = run_handoff
        self._socket: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._segments: dict[str, _Segment] = {}
        self._transcript: list[dict[str, str]] = []
        self._started = False
        self._ended = False
        self.on_end: Callable[[RealtimeSession], None] | None = None

    @property
    def active(self) -> bool:
        return not self._ended

    # ------------------------------------------------------------------ notifications

    def _emit(self, method: str, **params: Any) -> None:
        self._notify(method, {"threadId": self.thread_id, **params})

    def _timeline(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "realtimeSessionId": self.thread_id, "type": kind, **fields}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect and announce; any failure ends the session through the shutdown path."""
        from websockets.asyncio.client import connect

        try:
            headers = {"authorization": f"Bearer {self.config.api_key}", **self.config.headers}
            self._socket = await asyncio.wait_for(
                connect(self.config.url, additional_headers=headers, max_size=MAX_FRAME_BYTES),
                CONNECT_TIMEOUT_SECONDS,
            )
            await self._send(wire.session_update(self.config.version, self.config.output_modality, self.config.voice))
        except Exception as exc:  # refused, unreachable, timed out: one error, one closed
            await self._shutdown(error=f"failed to connect realtime websocket: {_describe(exc)}", reason="error")
            return
        if self._ended:
            return
        self._started = True
        started = self._timeline("realtimeSessionStarted")
        self._emit("thread/realtime/item/started", item=started)
        self._emit("thread/realtime/item/completed", item=started)
        self._emit("thread/realtime/started", realtimeSessionId=self.thread_id, version=self.config.version)
        self._spawn(self._read())

    async def stop(self) -> None:
        await self._shutdown(error=None, reason="requested")

    def begin(self) -> None:
        """Start connecting in the background; the session holds the task, so it cannot be collected."""
        self._spawn(self.start())

    def refuse(self, reason: str) -> None:
        """End a session that may not start, after the caller's response, through the same path."""
        self._spawn(self.fail_to_start(reason))

    async def fail_to_start(self, reason: str) -> None:
        """A start refused before any connection (no API key, wrong modality): same single ending."""
        await self._shutdown(error=reason, reason="error")

    async def append_text(self, role: str, text: str) -> None:
        await self._send_or_fail(wire.append_text(self.config.version, role, text))

    async def append_audio(self, data: str) -> None:
        await self._send_or_fail(wire.append_audio(data))

    async def _send(self, event: dict[str, Any]) -> None:
        await self._socket.send(json.dumps(event))

    async def _send_or_fail(self, event: dict[str, Any]) -> None:
        if self._ended or self._socket is None:
            return
        try:
            await self._send(event)
        except Exception as exc:  # the socket broke under us: that ends the session
            await self._shutdown(error=f"failed to send realtime input: {_describe(exc)}", reason="error")

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _shutdown(self, *, error: str | None, reason: str) -> None:
        """The only way a session ends. Idempotent: the first caller decides error and reason."""
        if self._ended:
            return
        self._ended = True
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self._socket is not None:
            with contextlib.suppress(Exception):
                self._socket.transport.abort()
            with contextlib.suppress(Exception):
                await self._socket.wait_closed()
        self._segments.clear()
        self._transcript.clear()
        if error is not None:
            self._emit("thread/realtime/error", message=error)
        if self._started:
            outcome = "failed" if error is not None else "ended"
            closed = self._timeline("realtimeSessionClosed", outcome=outcome)
            self._emit("thread/realtime/item/started", item=closed)
            self._emit("thread/realtime/item/completed", item=closed)
        self._emit("thread/realtime/closed", reason=reason)
        if self.on_end is not None:
            self.on_end(self)
        others = [task for task in self._tasks if task is not current]
        await asyncio.gather(*others, return_exceptions=True)

    # ------------------------------------------------------------------ reading

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        try:
            async for frame in self._socket:
                if isinstance(frame, str):
                    await self._dispatch(frame)
        except ConnectionClosedOK:
            await self._shutdown(error=None, reason="transport_closed")
            return
        except ConnectionClosed as exc:
            await self._shutdown(error=f"stream disconnected before completion: {_describe(exc)}", reason="error")
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a broken frame must still end the session cleanly
            await self._shutdown(error=f"realtime session failed: {_describe(exc)}", reason="error")
            return
        await self._shutdown(error=None, reason="transport_closed")

    async def _dispatch(self, frame: str) -> None:
        try:
            event = json.loads(frame)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        for parsed in wire.parse(self.config.version, event):
            await self._apply(parsed)

    async def _apply(self, event: wire.Event) -> None:
        if isinstance(event, wire.ServerError):
            await self._shutdown(error=event.message, reason="error")
        elif isinstance(event, wire.TranscriptDelta):
            segment = self._segments.get(event.role)
            if segment is None:
                segment = _Segment(self._timeline("transcriptSegment", role=event.role, text=""))
                self._segments[event.role] = segment
                self._emit("thread/realtime/item/started", item=dict(segment.item))
            segment.item["text"] += event.delta
            self._emit("thread/realtime/item/transcript/delta", itemId=segment.item["id"], delta=event.delta)
            self._emit("thread/realtime/transcript/delta", role=event.role, delta=event.delta)
            self._emit("thread/realtime/transcriptUpdated", role=event.role, text=event.delta)
        elif isinstance(event, wire.TranscriptDone):
            segment = self._segments.pop(event.role, None)
            if segment is not None:
                self._emit("thread/realtime/item/completed", item=segment.item)
            self._transcript.append({"role": event.role, "text": event.text})
            self._emit("thread/realtime/transcript/done", role=event.role, text=event.text)
        elif isinstance(event, wire.ItemAdded):
            self._emit("thread/realtime/itemAdded", item=event.item)
        elif isinstance(event, wire.AudioDelta):
            chunk = {"data": event.data, "itemId": event.item_id, "numChannels": 1, "sampleRate": 24000}
            self._emit("thread/realtime/outputAudio/delta", audio=chunk)
        elif isinstance(event, wire.HandoffRequested):
            self._handoff(event)

    def _handoff(self, event: wire.HandoffRequested) -> None:
        transcript = [*self._transcript, {"role": "user", "text": event.prompt}]
        self._transcript.clear()
        self._emit(
            "thread/realtime/itemAdded",
            item={
                "type": "handoff_request",
                "handoff_id": event.handoff_id,
                "item_id": event.item_id,
                "input_transcript": event.prompt,
                "active_transcript": transcript,
            },
        )
        self._spawn(self._serve_handoff(event, delegation_prompt(event.prompt, transcript)))

    async def _serve_handoff(self, event: wire.HandoffRequested, prompt: str) -> None:
        try:
            reply = await self._run_handoff(prompt)
        except Exception as exc:  # the turn failed: tell the realtime model instead of leaving it waiting
            reply = f"The background agent failed: {exc}"
        for answer in wire.handoff_answer(self.config.version, event.handoff_id, reply):
            await self._send_or_fail(answer)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")[:300]
