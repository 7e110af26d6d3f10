"""Buffered-notification test harness for app-servers (ours, upstream codex, or any compatible server)."""

from codex_app_harness.chaos import Chaos
from codex_app_harness.client import (
    AsyncClient,
    HarnessError,
    Notification,
    NotificationTimeout,
    RpcResponseError,
    ServerExited,
    ServerRequest,
    UnexpectedNotification,
)
from codex_app_harness.matching import MISSING, Matcher
from codex_app_harness.sync import Client, ServerRequestHandle

__all__ = [
    "MISSING",
    "AsyncClient",
    "Chaos",
    "Client",
    "HarnessError",
    "Matcher",
    "Notification",
    "NotificationTimeout",
    "RpcResponseError",
    "ServerExited",
    "ServerRequest",
    "ServerRequestHandle",
    "UnexpectedNotification",
]
