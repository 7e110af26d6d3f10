"""What the runner's unit tests share: an initialize line and a method table of plain handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from server.rpc import MethodSpec

INIT = json.dumps({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}})


class Table:
    """A method table whose handlers take their params as sent (no model)."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        self.specs = {name: MethodSpec(name, lambda raw: raw, handler) for name, handler in handlers.items()}

    def get(self, name: str) -> MethodSpec | None:
        return self.specs.get(name)

    def names(self) -> Iterator[str]:
        return iter(self.specs)
