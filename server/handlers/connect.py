"""What the server tells a client unasked, right after answering its initialize.

Hooks are listed by `module:function` path rather than registered by handler modules on import, so
running them does not load every handler (and pydantic) before the client's first request: a hook
module must stay light. Each hook gets the Session and may only notify.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.session import Session

CONNECT_HOOKS: tuple[str, ...] = ("server.config.warnings:announce", "server.plugins.startup:start")


def connect_hooks() -> list[Callable[[Session], None]]:
    hooks = []
    for path in CONNECT_HOOKS:
        module, _, name = path.partition(":")
        hooks.append(getattr(importlib.import_module(module), name))
    return hooks
