"""Method handlers, one module per namespace, registered in one table (server.handlers.registry).

Adding a namespace: write `server/handlers/<name>.py` using `@method(...)`, then list the module below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.handlers.registry import Table

HANDLER_MODULES: tuple[str, ...] = (
    "server.handlers.fs",
    "server.handlers.watch",
    "server.handlers.config",
    "server.handlers.plugins",
    "server.handlers.account",
    "server.handlers.search",
    "server.handlers.threads",
    "server.handlers.thread_surface",
    "server.handlers.realtime",
    "server.handlers.hooks",
)


def load_method_table() -> Table:
    """Import every handler module (which registers its methods) and return the table.

    Called on the first request after initialize, never at import: the modules pull in pydantic.
    """
    from server.handlers.registry import TABLE

    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return TABLE
