"""Method handlers, one module per namespace, registered in one table (server.handlers.registry).

Adding a namespace: write `server/handlers/<name>.py` using `@method(...)`, then list the module below as
`"module: prefix prefix"`, each prefix a namespace (`fs` serves `fs/readFile`) or a method name
(`fs/watch`). A request loads only the modules whose prefixes cover its method, those naming it most
closely first, so the first answer after `initialize` costs one module's imports, not every module's. An
entry without prefixes is loaded whenever a method is not found among the others: still correct, only
less lazy.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.rpc import MethodSpec

HANDLER_MODULES: tuple[str, ...] = (
    "server.handlers.fs_metadata: fs/getMetadata",
    "server.handlers.fs: fs",
    "server.handlers.watch: fs/watch fs/unwatch",
    "server.handlers.config_read: config/read",
    "server.handlers.config: config experimentalFeature",
    "server.handlers.plugins: plugin",
    "server.handlers.skills: skills",
    "server.handlers.marketplaces: marketplace",
    "server.handlers.apps: app",
    "server.handlers.account: account getAuthStatus",
    "server.handlers.search: fuzzyFileSearch",
    "server.handlers.thread_reads: thread/list thread/read",
    "server.handlers.threads: thread turn",
    "server.handlers.thread_surface: thread turn/steer review",
    "server.handlers.realtime: thread",
    "server.handlers.hooks: hooks",
    "server.handlers.models: model",
    "server.handlers.requirements: configRequirements",
    "server.handlers.collaboration_modes: collaborationMode",
    "server.handlers.rate_limits: account/rateLimits",
    "server.handlers.mcp: mcpServerStatus config/mcpServer",
    "server.handlers.feedback: feedback",
    "server.handlers.external_agent: externalAgentConfig/detect externalAgentConfig/import",
    "server.handlers.command_exec: command/exec",
)


def _parse(entry: str) -> tuple[str, tuple[str, ...]]:
    module, _, namespaces = entry.partition(":")
    return module.strip(), tuple(namespaces.split())


def covers(prefix: str, method: str) -> bool:
    return method == prefix or method.startswith(prefix + "/")


class LazyTable:
    """The method table, importing a namespace's handler modules the first time one of its methods is asked.

    `names()` needs every module; it lists them in HANDLER_MODULES order (then registration order inside
    a module), whatever order they were loaded in, because unknown-method errors list them that way.
    """

    def __init__(self, entries: tuple[str, ...] = HANDLER_MODULES) -> None:
        self._modules = [_parse(entry) for entry in entries]
        self._loaded: set[str] = set()

    def _load(self, modules: list[str]) -> None:
        for module in modules:
            if module not in self._loaded:
                importlib.import_module(module)
                self._loaded.add(module)

    def get(self, name: str) -> MethodSpec | None:
        """Modules whose prefix names the method most closely load first, and the others only if the method
        is still missing: `fs/getMetadata` loads its own light module, not all of `fs`."""
        from server.handlers.registry import TABLE

        spec = TABLE.get(name)
        if spec is not None:  # every request after a method's first: no prefix scan on the hot path
            return spec
        closeness: dict[str, int] = {}
        for module, prefixes in self._modules:
            covering = [len(prefix) for prefix in prefixes if covers(prefix, name)]
            if covering:
                closeness[module] = max(covering)
        for length in sorted(set(closeness.values()), reverse=True):
            self._load([module for module, closest in closeness.items() if closest == length])
            spec = TABLE.get(name)
            if spec is not None:
                return spec
        self._load([module for module, prefixes in self._modules if not prefixes])
        return TABLE.get(name)

    def names(self) -> Iterator[str]:
        self._load([module for module, _ in self._modules])
        from server.handlers.registry import TABLE

        rank = {module: position for position, (module, _) in enumerate(self._modules)}
        specs = [TABLE.get(name) for name in TABLE.names()]
        ordered = sorted(
            (spec for spec in specs if spec is not None), key=lambda spec: rank.get(spec.handler.__module__, len(rank))
        )
        return iter([spec.name for spec in ordered])


def load_method_table() -> LazyTable:
    """The table handed to each connection; modules load on demand (they pull in pydantic), never at import."""
    return LazyTable()
