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

from server.context import Peer, ServerContext
from server.plugins.login import credentials


class StartupSync:
    """Marks, per server process, that the sync was considered (`ServerContext.shared`)."""

    def __init__(self, server: ServerContext) -> None:
        self.considered = False
        self.thread: threading.Thread | None = None


def start(session: Peer) -> None:
    """Connect hook: once per server, start the sync in the background when a ChatGPT login is stored.

    The login is checked here, on the loop: that is one read of a small local file (on most servers not
    even that, there is none), while a thread started for nothing competes for the interpreter with the
    client's first request, which it delayed by tens of milliseconds on a loaded 2-core machine.
    """
    server = session.server
    marker = server.shared(StartupSync, StartupSync)
    if marker.considered:
        return
    marker.considered = True
    if credentials(server.codex_home) is None:
        return
    marker.thread = threading.Thread(target=run, args=(server,), name="plugin-startup-sync", daemon=True)
    marker.thread.start()


def run(server: ServerContext) -> None:
    """The sync itself, with a login stored; the config and plugin modules load only here."""
    try:
        from server.config import effective_config
        from server.config.features import is_enabled
        from server.plugins import remote_plugins

        if not is_enabled(effective_config(server), "plugins"):
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
