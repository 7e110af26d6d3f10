"""What travels on the realtime websocket, per protocol version, as tables.

Upstream speaks three versions (protocol notes, section 11): v2 is the default; v1 is the legacy
"quicksilver" session; v3 is the `/v1/live` endpoint. Everything version-specific is a row below or a
branch on `version` in this module; the session logic in server.realtime.session never checks a version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

Version = Literal["v1", "v2", "v3"]
Role = Literal["user", "assistant"]
VERSIONS: tuple[Version, ...] = ("v1", "v2", "v3")
DEFAULT_VERSION: Version = "v2"
DEFAULT_MODEL: dict[Version, str] = {"v1": "gpt-realtime-1.5", "v2": "gpt-realtime-1.5", "v3": "gpt-live-1-codex"}
DEFAULT_VOICE: dict[Version, str] = {"v1": "cove", "v2": "marin", "v3": "cove"}
HANDOFF_TOOL = "background_agent"
HANDOFF_ARGUMENT_KEYS = ("input_transcript", "input", "text", "prompt", "query")
"""Where a handoff's prompt may sit in the tool arguments, tried in this order (as upstream does)."""

INSTRUCTIONS = (
    "You are the voice of a coding agent. Talk with the user; when they ask for work on their code, call "
    "background_agent with a short prompt and tell them it is in progress. Messages starting with [BACKEND] "
    "are the agent's results: relay them briefly."
)

VOICES: dict[str, list[str]] = {
    "v1": ["juniper", "maple", "spruce", "ember", "vale", "breeze", "arbor", "sol", "cove"],
    "v2": ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"],
    "v3": ["cove"],
}

# Server event type -> (role, transcript kind) for transcripts, per version.
_TRANSCRIPT_DELTAS: dict[Version, dict[str, Role]] = {
    "v2": {
        "conversation.item.input_audio_transcription.delta": "user",
        "response.output_text.delta": "assistant",
        "response.output_audio_transcript.delta": "assistant",
    },
    "v1": {
        "conversation.item.input_audio_transcription.delta": "user",
        "conversation.input_transcript.delta": "user",
        "response.output_text.delta": "assistant",
        "response.output_audio_transcript.delta": "assistant",
        "conversation.output_transcript.delta": "assistant",
    },
}
_TRANSCRIPT_DELTAS["v3"] = _TRANSCRIPT_DELTAS["v2"]
_TRANSCRIPT_DONES: dict[Version, dict[str, tuple[Role, str]]] = {
    "v2": {
        "conversation.item.input_audio_transcription.completed": ("user", "transcript"),
        "response.output_text.done": ("assistant", "text"),
        "response.output_audio_transcript.done": ("assistant", "transcript"),
    },
    "v1": {
        "conversation.item.input_audio_transcription.completed": ("user", "transcript"),
        "response.output_audio_transcript.done": ("assistant", "transcript"),
    },
}
_TRANSCRIPT_DONES["v3"] = _TRANSCRIPT_DONES["v2"]


@dataclass(frozen=True)
class TranscriptDelta:
    role: Role
    delta: str


@dataclass(frozen=True)
class TranscriptDone:
    role: Role
    text: str


@dataclass(frozen=True)
class ItemAdded:
    item: dict[str, Any]


@dataclass(frozen=True)
class HandoffRequested:
    handoff_id: str
    item_id: str
    prompt: str


@dataclass(frozen=True)
class AudioDelta:
    data: str
    item_id: str | None


@dataclass(frozen=True)
class ServerError:
    message: str


Event = TranscriptDelta | TranscriptDone | ItemAdded | HandoffRequested | AudioDelta | ServerError


def connect_url(base: str, version: Version, model: str) -> str:
    base = base.rstrip("/")
    if version == "v3":
        return f"{base}/v1/live?{urlencode({'model': model})}"
    query = {"intent": "quicksilver", "model": model} if version == "v1" else {"model": model}
    return f"{base}/v1/realtime?{urlencode(query)}"


def session_update(version: Version, output_modality: str, voice: str | None) -> dict[str, Any]:
    voice = voice or DEFAULT_VOICE[version]
    if version == "v1":
        audio = {"input": {"format": {"type": "audio/pcm", "rate": 24000}}, "output": {"voice": voice}}
        return {
            "type": "session.update",
            "session": {"type": "quicksilver", "instructions": INSTRUCTIONS, "audio": audio},
        }
    if version == "v3":
        session = {
            "instructions": INSTRUCTIONS,
            "audio": {"output": {"voice": voice}},
            "delegation": {"type": "client"},
        }
        return {"type": "session.update", "session": session}
    handoff = {
        "type": "function",
        "name": HANDOFF_TOOL,
        "description": "Hand a task to the coding agent working on the user's code.",
        "parameters": {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]},
    }
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": [output_modality],
            "instructions": INSTRUCTIONS,
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000}},
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice},
            },
            "tools": [handoff],
            "tool_choice": "auto",
        },
    }


def append_text(version: Version, role: str, text: str) -> dict[str, Any]:
    if version == "v3":
        return {"type": "session.context.append", "content": [{"type": "input_text", "text": text}]}
    if role == "assistant":
        content = [{"type": "output_text", "text": text}]
    else:
        prefix = "[USER] " if version == "v2" and role == "user" else ""
        content = [{"type": "input_text", "text": prefix + text}]
    return {"type": "conversation.item.create", "item": {"type": "message", "role": role, "content": content}}


def append_audio(data: str) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": data}


def handoff_answer(version: Version, handoff_id: str, reply: str) -> list[dict[str, Any]]:
    """What goes back on the socket once the turn that served a handoff has finished."""
    if version == "v1":
        return [
            {
                "type": "conversation.handoff.append",
                "handoff_id": handoff_id,
                "output_text": f'"Agent Final Message":\n\n{reply}',
            }
        ]
    backend = {"type": "input_text", "text": f"[BACKEND] {reply}"}
    return [
        {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [backend]}},
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": handoff_id,
                "output": "Background agent finished. Use the preceding [BACKEND] messages as the result.",
            },
        },
        {"type": "response.create"},
    ]


def _handoff_prompt(arguments: str) -> str:
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(parsed, dict):
        for key in HANDOFF_ARGUMENT_KEYS:
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
    return arguments


def parse(version: Version, event: dict[str, Any]) -> list[Event]:
    """Normalise one server event; unknown or uninteresting events give nothing."""
    kind = event.get("type", "")
    if kind == "error":
        error = event.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return [ServerError(str(message or "realtime error"))]
    role = _TRANSCRIPT_DELTAS[version].get(kind)
    if role is not None:
        return [TranscriptDelta(role, str(event.get("delta", "")))]
    done = _TRANSCRIPT_DONES[version].get(kind)
    if done is not None:
        return [TranscriptDone(done[0], str(event.get(done[1], "")))]
    if kind == "response.output_audio.delta":
        return [AudioDelta(str(event.get("delta", "")), event.get("item_id"))]
    item = event.get("item") if isinstance(event.get("item"), dict) else None
    if kind == "conversation.item.added" and item is not None:
        return [ItemAdded(item)]
    handoff_call = (
        kind == "conversation.item.done"
        and version != "v1"
        and item is not None
        and item.get("type") == "function_call"
        and item.get("name") == HANDOFF_TOOL
    )
    if handoff_call and item is not None:
        call_id = str(item.get("call_id") or item.get("id") or "")
        prompt = _handoff_prompt(str(item.get("arguments", "")))
        return [HandoffRequested(call_id, str(item.get("id") or call_id), prompt)]
    if kind == "conversation.handoff.requested" and version == "v1":
        return [
            HandoffRequested(
                str(event.get("handoff_id", "")), str(event.get("item_id", "")), str(event.get("input_transcript", ""))
            )
        ]
    return []
