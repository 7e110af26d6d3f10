"""The method table loads a namespace's handler modules on first use and still lists every method in one order."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from server.handlers import HANDLER_MODULES, LazyTable, covers


def _loaded_after(method: str, prefix: str = "server.handlers.") -> set[str]:
    """Modules under `prefix` imported by a fresh process after looking up one method."""
    script = (
        "import json, sys\n"
        "from server.handlers import LazyTable\n"
        f"assert LazyTable().get({method!r}) is not None\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefix!r}))))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    return set(json.loads(output)) - {"server.handlers.registry"}


def test_a_request_loads_only_the_modules_of_its_namespace() -> None:
    assert _loaded_after("fs/getMetadata") == {"server.handlers.fs_metadata"}
    assert _loaded_after("fs/readFile") == {"server.handlers.fs"}
    assert _loaded_after("fs/watch") == {"server.handlers.watch"}
    assert _loaded_after("fuzzyFileSearch/sessionStart") == {"server.handlers.search"}
    assert _loaded_after("thread/list") == {"server.handlers.thread_reads"}


EDITOR_FIRST_METHODS = [
    "fs/getMetadata",
    "fuzzyFileSearch",
    "fuzzyFileSearch/sessionStart",
    "config/read",
    "thread/list",
    "thread/read",
]


@pytest.mark.parametrize("method", EDITOR_FIRST_METHODS)
def test_first_requests_of_an_editor_are_served_without_pydantic(method: str) -> None:
    """Often a client's first requests: answering them must not wait for pydantic's import."""
    assert _loaded_after(method, prefix="pydantic") == set()
    assert "pydantic" in _loaded_after("fs/readFile", prefix="pydantic")


@pytest.mark.parametrize("method", ["thread/list", "thread/read"])
def test_reading_threads_loads_neither_the_turn_engine_nor_the_model_client(method: str) -> None:
    """Listing threads is an editor's first request; it needs the store of rollouts, not what runs turns."""
    assert _loaded_after(method, prefix="server.threads.engine") == set()
    assert _loaded_after(method, prefix="server.model") == set()
    assert "server.threads.engine" in _loaded_after("thread/start", prefix="server.threads.engine")


def test_every_registered_method_is_covered_by_its_module_entry() -> None:
    table = LazyTable()
    entries = [entry.partition(":") for entry in HANDLER_MODULES]
    prefixes = {module.strip(): rest.split() for module, _, rest in entries}
    for name in table.names():
        spec = table.get(name)
        assert spec is not None
        assert any(covers(prefix, name) for prefix in prefixes[spec.handler.__module__]), name


def test_names_follow_the_module_list_whatever_was_loaded_first() -> None:
    table = LazyTable()
    assert table.get("thread/start") is not None
    modules = [entry.partition(":")[0].strip() for entry in HANDLER_MODULES]
    order = []
    for name in table.names():
        spec = table.get(name)
        assert spec is not None
        order.append(modules.index(spec.handler.__module__))
    assert order == sorted(order)
    assert len(set(table.names())) == len(list(table.names()))
