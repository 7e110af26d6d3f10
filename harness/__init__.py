"""Buffered-notification test harness for app-servers (ours, upstream codex, or any compatible server)."""

from harness.chaos import Chaos
from harness.client import (
    AsyncClient,
    HarnessError,
    Notification,
    NotificationTimeout,
    RpcResponseError,
    ServerExited,
    ServerRequest,
    UnexpectedNotification,
)
from harness.matching import MISSING, Matcher
from harness.sync import Client, ServerRequestHandle

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
