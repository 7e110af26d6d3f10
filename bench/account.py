"""Account figures, ours against upstream in one run, both wired to the same loopback issuer stand-in.

- apiKey login round trip (request -> response; writes auth.json atomically)
- 1000 sequential `account/read {}` while signed in with an API key (protocol notes: upstream ~1 ms each)
- device-code login, start -> `account/login/completed` (issuer approves at once, interval "0")
- refresh round trip: `account/read {refreshToken: true}` that calls the token endpoint
- fail-fast: `account/read {refreshToken: true}` on a poisoned snapshot (no network), and the token-endpoint
  calls it made (must stay 1 across all of them)
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._servers import KINDS, StdioServer, command, environment, ratio, summary
from fixtures.auth_issuer import AuthIssuer

ROUNDS = 10
SEQUENTIAL = 1000
FAIL_FAST = 200


class AuthServer(StdioServer):
    """StdioServer pointed at the stand-in issuer (its environment keeps the CODEX_* wiring)."""

    def __init__(self, kind: str, issuer: AuthIssuer) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="bench-home-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
        (self.home / "config.toml").write_text(issuer.config_toml())
        env = {**environment(self.home), **issuer.server_env(), "CODEX_APP_SERVER_LOGIN_CALLBACK_PORT": "0"}
        self.process = subprocess.Popen(
            command(kind), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self._next_id = 1

    def wait_notification(self, method: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("server exited")
            message: dict[str, Any] = json.loads(line)
            params = message.get("params") or {}
            if message.get("method") == method and all(params.get(k) == v for k, v in fields.items()):
                return params


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def measure(kind: str, issuer: AuthIssuer) -> dict[str, Any]:
    server = AuthServer(kind, issuer)
    try:
        server.initialize()
        server.request("account/read", {})  # warm: ours loads its handlers on first use
        started = time.perf_counter()
        server.request("account/login/start", {"type": "apiKey", "apiKey": "sk-bench"})
        api_key_ms = ms_since(started)
        started = time.perf_counter()
        for _ in range(SEQUENTIAL):
            server.request("account/read", {})
        sequential_s = time.perf_counter() - started

        started = time.perf_counter()
        login_id = server.request("account/login/start", {"type": "chatgptDeviceCode"})["result"]["loginId"]
        completed = server.wait_notification("account/login/completed", loginId=login_id)
        device_ms = ms_since(started)
        assert completed["success"], completed

        started = time.perf_counter()
        server.request("account/read", {"refreshToken": True})
        refresh_ms = ms_since(started)

        issuer.state.token_error = "refresh_token_reused"
        calls = issuer.state.token_calls
        started = time.perf_counter()
        for _ in range(FAIL_FAST):
            server.request("account/read", {"refreshToken": True})
        fail_fast_ms = ms_since(started) / FAIL_FAST
        issuer.state.token_error = None
        return {
            "api_key_login_ms": api_key_ms,
            "sequential_account_read_s": sequential_s,
            "device_login_ms": device_ms,
            "refresh_ms": refresh_ms,
            "poisoned_read_ms": fail_fast_ms,
            "token_calls_while_poisoned": issuer.state.token_calls - calls,
        }
    finally:
        server.close()


def run() -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {kind: {} for kind in KINDS}
    with AuthIssuer() as issuer:
        issuer.state.interval = "0"
        for _ in range(ROUNDS):  # interleaved, so load drift hits both alike
            for kind in KINDS:
                for key, value in measure(kind, issuer).items():
                    samples[kind].setdefault(key, []).append(value)
    figures: dict[str, Any] = {key: {kind: summary(samples[kind][key]) for kind in KINDS} for key in samples["python"]}
    figures["ratio_python_over_codex"] = {
        key: ratio(figures[key]["python"]["median"], figures[key]["codex"]["median"])
        for key in samples["python"]
        if key != "token_calls_while_poisoned"
    }
    return figures
