"""Config and plugin calls, ours vs upstream: per-call latency of config/read, config/value/write,
experimentalFeature/list and plugin/list over a 20-plugin marketplace (sequential, warm server)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._servers import KINDS, StdioServer, ratio, summary

ROUNDS = 3
CALLS = 100
PLUGINS = 20
OFFLINE = 'chatgpt_base_url="http://127.0.0.1:9/backend-api"'
"""upstream fetches featured plugins at startup; a closed loopback port keeps the bench offline."""


def marketplace(root: Path) -> None:
    (root / ".git").mkdir(parents=True)
    entries = []
    for index in range(PLUGINS):
        name = f"plugin{index}"
        manifest = root / "plugins" / name / ".codex-plugin"
        manifest.mkdir(parents=True)
        interface = {"displayName": name, "defaultPrompt": ["first", "x" * 200, "third"]}
        (manifest / "plugin.json").write_text(json.dumps({"name": name, "version": "1.0.0", "interface": interface}))
        entries.append({"name": name, "source": {"source": "local", "path": f"./plugins/{name}"}})
    path = root / ".agents/plugins/marketplace.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"name": "bench", "plugins": entries}))


def per_call_ms(server: StdioServer, call: Callable[[int], tuple[str, Any]]) -> float:
    method, params = call(-1)
    server.request(method, params)  # warm: ours loads its handlers on first use
    started = time.perf_counter()
    for index in range(CALLS):
        method, params = call(index)
        response = server.request(method, params)
        if "error" in response:
            raise RuntimeError(f"{method} failed: {response['error']}")
    return (time.perf_counter() - started) * 1000 / CALLS


def run() -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-plugins-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    try:
        marketplace(root)
        calls: dict[str, Callable[[int], tuple[str, Any]]] = {
            "config_read_ms": lambda i: ("config/read", {"includeLayers": True}),
            "config_value_write_ms": lambda i: (
                "config/value/write",
                {"keyPath": "model", "value": f"m{i}", "mergeStrategy": "replace"},
            ),
            "experimental_feature_list_ms": lambda i: ("experimentalFeature/list", {}),
            "plugin_list_20_ms": lambda i: ("plugin/list", {"cwds": [str(root)]}),
        }
        samples: dict[str, dict[str, list[float]]] = {name: {kind: [] for kind in KINDS} for name in calls}
        for _ in range(ROUNDS):  # interleaved, so load drift hits both alike
            for kind in KINDS:
                server = StdioServer(kind, "-c", OFFLINE)
                try:
                    server.initialize()
                    for name, call in calls.items():
                        samples[name][kind].append(per_call_ms(server, call))
                finally:
                    server.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures: dict[str, Any] = {}
    for name, by_kind in samples.items():
        figures[name] = {kind: summary(values) for kind, values in by_kind.items()}
        figures[name]["ours_over_upstream"] = ratio(figures[name]["python"]["median"], figures[name]["codex"]["median"])
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
