"""Buffered-notification test harness for app-servers (ours, upstream codex, or any compatible server)."""

from harness.client import (
    AsyncClient,
    Chaos,
    HarnessError,
    Notification,
    NotificationTimeout,
    RpcResponseError,
    ServerExited,
)
from harness.sync import Client

__all__ = [
    "AsyncClient",
    "Chaos",
    "Client",
    "HarnessError",
    "Notification",
    "NotificationTimeout",
    "RpcResponseError",
    "ServerExited",
]
