"""Params of thread/realtime/* (upstream experimental schema: ThreadRealtime*Params)."""

from __future__ import annotations

from typing import Literal

from server.protocol.base import WireModel


class RealtimeStartParams(WireModel):
    thread_id: str
    output_modality: Literal["text", "audio"]
    version: Literal["v1", "v2", "v3"] | None = None
    model: str | None = None
    voice: str | None = None


class RealtimeAppendTextParams(WireModel):
    thread_id: str
    text: str
    role: Literal["user", "developer", "assistant"] | None = None


class AudioChunk(WireModel):
    data: str
    num_channels: int
    sample_rate: int
    item_id: str | None = None
    samples_per_channel: int | None = None


class RealtimeAppendAudioParams(WireModel):
    thread_id: str
    audio: AudioChunk


class RealtimeStopParams(WireModel):
    thread_id: str


class RealtimeListVoicesParams(WireModel):
    """Upstream's ThreadRealtimeListVoicesParams: an object with no fields (any object goes, null does not)."""
