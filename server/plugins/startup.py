"""The startup sync upstream runs once per server when a ChatGPT login is stored and plugins are on.

It asks the backend which remote plugins are installed (`GET ps/plugins/installed?limit=200&
includeDownloadUrls=true`) and downloads the bundle of each enabled one the local cache lacks at its
release version, so plugins installed from another device work here too. It runs on a daemon thread after
the first initialize: nothing waits for it, and a failure only costs the missing cache entries (logged,
never with credentials).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from server.session import ServerContext, Session


class StartupSync:
    """Marks, per server process, that the sync was started (`ServerContext.shared`)."""

    def __init__(self, server: ServerContext) -> None:
        self.thread: threading.Thread | None = None


def start(session: Session) -> None:
    """Connect hook: start the sync once per server, in the background."""
    server = session.server
    marker = server.shared(StartupSync, StartupSync)
    if marker.thread is not None:
        return
    marker.thread = threading.Thread(target=run, args=(server,), name="plugin-startup-sync", daemon=True)
    marker.thread.start()


def run(server: ServerContext) -> None:
    from server.config import effective_config
    from server.config.features import is_enabled
    from server.plugins import remote_plugins

    try:
        if not is_enabled(effective_config(server), "plugins") or not remote_plugins.signed_in(server):
            return
        synced = remote_plugins.sync_installed_bundles(server)
    except Exception as exc:
        log(f"remote plugin startup sync failed: {type(exc).__name__}: {exc}")
        return
    for name, problem in synced:
        if problem is not None:
            log(f"remote plugin `{name}` not synced: {problem}")


def log(message: Any) -> None:
    print(f"app-server: plugins: {message}", file=sys.stderr, flush=True)
