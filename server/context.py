"""The server a domain module works for, and a connection as domain code may use it.

These sit below every domain package (threads, auth, config, plugins, ...) so that domain code needs
nothing from server.session, the handlers' layer: `ServerContext` is the per-process state bag and
`Peer` the little of a connection (its server, its notifications) that connect hooks need.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ServerOptions:
    """Settings from the command line that handlers may read."""

    config_overrides: tuple[str, ...] = ()
    """`-c key=value` pairs, in order."""
    session_source: str | None = None
    profile: str | None = None
    """`--profile NAME`: `$CODEX_HOME/NAME.config.toml` layered over the user config."""


@dataclass
class ServerContext:
    """State shared by every connection of one server process."""

    codex_home: Path
    options: ServerOptions = field(default_factory=ServerOptions)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _shared: dict[type[Any], Any] = field(default_factory=dict)

    def shared(self, factory: Callable[[ServerContext], T], key: type[T]) -> T:
        """One instance of `key` per server, created on first use by `factory(self)`."""
        if key not in self._shared:
            self._shared[key] = factory(self)
        instance: T = self._shared[key]
        return instance


class Peer(Protocol):
    """A connection as domain code sees it (server.session.Session is one)."""

    @property
    def server(self) -> ServerContext: ...

    def notify(self, method: str, params: Any) -> None: ...
