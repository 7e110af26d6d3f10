"""thread/realtime/* handlers: one realtime session per thread, ended through the session's shutdown path."""

from __future__ import annotations

from typing import Any

from server.config import effective_config
from server.handlers.registry import method
from server.handlers.threads import follow
from server.protocol.realtime import (
    RealtimeAppendAudioParams,
    RealtimeAppendTextParams,
    RealtimeListVoicesParams,
    RealtimeStartParams,
    RealtimeStopParams,
)
from server.realtime import wire
from server.realtime.session import RealtimeSession, SessionConfig
from server.session import ServerContext, Session
from server.threads.service import thread_service

DEFAULT_WS_BASE_URL = "wss://api.openai.com"


class RealtimeSessions:
    """Live sessions of one server, by thread id."""

    def __init__(self, server: ServerContext) -> None:
        self.by_thread: dict[str, RealtimeSession] = {}

    def register(self, session: RealtimeSession) -> None:
        self.by_thread[session.thread_id] = session
        session.on_end = self._forget

    def _forget(self, session: RealtimeSession) -> None:
        if self.by_thread.get(session.thread_id) is session:
            del self.by_thread[session.thread_id]


class OwnedSessions:
    """Realtime sessions a connection started: stopped when the connection goes away."""

    def __init__(self, session: Session) -> None:
        self.sessions: list[RealtimeSession] = []

    async def aclose(self) -> None:
        for realtime in self.sessions:
            await realtime.stop()


def sessions(server: ServerContext) -> RealtimeSessions:
    return server.shared(RealtimeSessions, RealtimeSessions)


def session_config(session: Session, params: RealtimeStartParams) -> SessionConfig | str:
    """The connection settings, or the reason this session cannot start (reported as a realtime error)."""
    from server.auth.manager import auth_manager

    config = effective_config(session.server)
    version = params.version or config.get("realtime.version") or wire.DEFAULT_VERSION
    if version not in wire.VERSIONS:
        return f"unsupported realtime version: {version}"
    if params.output_modality == "text" and version != "v2":
        return "text realtime output modality requires realtime v2"
    current = auth_manager(session.server).current()
    if current is None or current.mode != "apikey" or not current.api_key:
        return "realtime conversation requires API key auth"
    model = params.model or config.get("experimental_realtime_ws_model") or wire.DEFAULT_MODEL[version]
    base = str(config.get("experimental_realtime_ws_base_url") or DEFAULT_WS_BASE_URL)
    headers = {"originator": "codex_app_server", "thread-id": params.thread_id, "session-id": params.thread_id}
    voice = params.voice or config.get("realtime.voice")
    return SessionConfig(
        wire.connect_url(base, version, str(model)), current.api_key, version, params.output_modality, voice, headers
    )


@method("thread/realtime/start", RealtimeStartParams, experimental=True)
async def realtime_start(session: Session, params: RealtimeStartParams) -> dict[str, Any]:
    service = thread_service(session.server)
    thread = service.realtime_thread(params.thread_id)
    follow(session, thread)
    registry = sessions(session.server)
    previous = registry.by_thread.get(thread.id)
    if previous is not None:
        await previous.stop()

    async def run_handoff(prompt: str) -> str:
        return await service.handoff(thread, prompt, session)

    settings = session_config(session, params)
    config = settings if isinstance(settings, SessionConfig) else SessionConfig("", "", "v2", "text", None)
    realtime = RealtimeSession(thread.id, config, thread.notify, run_handoff)
    registry.register(realtime)
    session.scoped(OwnedSessions, OwnedSessions).sessions.append(realtime)
    if isinstance(settings, str):
        realtime.refuse(settings)
    else:
        realtime.begin()
    return {}


@method("thread/realtime/appendText", RealtimeAppendTextParams, experimental=True)
async def realtime_append_text(session: Session, params: RealtimeAppendTextParams) -> dict[str, Any]:
    realtime = sessions(session.server).by_thread.get(params.thread_id)
    if realtime is not None:
        await realtime.append_text(params.role or "user", params.text)
    return {}


@method("thread/realtime/appendAudio", RealtimeAppendAudioParams, experimental=True)
async def realtime_append_audio(session: Session, params: RealtimeAppendAudioParams) -> dict[str, Any]:
    realtime = sessions(session.server).by_thread.get(params.thread_id)
    if realtime is not None:
        await realtime.append_audio(params.audio.data)
    return {}


@method("thread/realtime/stop", RealtimeStopParams, experimental=True)
async def realtime_stop(session: Session, params: RealtimeStopParams) -> dict[str, Any]:
    realtime = sessions(session.server).by_thread.get(params.thread_id)
    if realtime is not None:
        await realtime.stop()
    else:
        # Upstream answers a stop without a session with one `closed`; clients key teardown on it.
        session.notify("thread/realtime/closed", {"threadId": params.thread_id, "reason": "requested"})
    return {}


@method("thread/realtime/listVoices", RealtimeListVoicesParams, experimental=True)
async def realtime_list_voices(session: Session, params: RealtimeListVoicesParams) -> dict[str, Any]:
    return {"voices": wire.VOICES}
