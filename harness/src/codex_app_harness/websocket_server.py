"""An app-server process listening on a websocket, for tests and benchmarks.

The server is started with `--listen ws://127.0.0.1:0` plus whatever flags the test needs; the port the OS
picked is read from the stderr banner (`listening on: ws://IP:PORT`), which ours and upstream print alike.
Clients connect with `connect()`, optionally with a bearer token and extra upgrade headers.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codex_app_harness.chaos import Chaos
from codex_app_harness.sync import Client
from codex_app_harness.transcript import Transcript

BANNER_URL = re.compile(r"listening on: (ws://\S+)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0

Validator = Callable[[str, dict[str, Any]], None]


class ServerStartError(RuntimeError):
    """The server exited or stayed silent instead of printing its websocket banner."""


class WebSocketServer:
    """One server process; `url` is where it listens, `stderr` everything it has said so far."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        chaos: Callable[[int], Chaos | None] = lambda _index: None,
        validators: Callable[[], Sequence[Validator]] = list,
        transcript: Callable[[str], Transcript | None] = lambda _url: None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.process = process
        self._transcript = transcript
        self.stderr: list[str] = []
        self.clients: list[Client] = []
        self._chaos = chaos
        self._validators = validators
        self._banner = threading.Event()
        self._said = threading.Condition()
        self._stderr_closed = False
        self._url: str | None = None
        self._reader = threading.Thread(target=self._read_stderr, name="ws-server-stderr", daemon=True)
        self._reader.start()
        if not self._banner.wait(start_timeout) or self._url is None:
            self.stop(signal.SIGKILL)
            tail = "\n".join(self.stderr[-40:])
            raise ServerStartError(
                f"{process.args!r} printed no websocket banner within {start_timeout:.0f}s "
                f"(exit code {process.returncode}); stderr:\n{tail}"
            )
        self.url: str = self._url

    @classmethod
    def start(
        cls,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        chaos: Callable[[int], Chaos | None] = lambda _index: None,
        validators: Callable[[], Sequence[Validator]] = list,
        transcript: Callable[[str], Transcript | None] = lambda _url: None,
    ) -> WebSocketServer:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
        return cls(process, chaos=chaos, validators=validators, transcript=transcript)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._said:
                self.stderr.append(line)
                self._said.notify_all()
            match = BANNER_URL.search(line)
            if match and self._url is None:
                self._url = match.group(1)
                self._banner.set()
        self._banner.set()  # exited without a banner: stop waiting
        with self._said:
            self._stderr_closed = True
            self._said.notify_all()

    def wait_for_stderr(self, text: str, timeout: float = START_TIMEOUT) -> str:
        """The first stderr line containing `text`, waiting for it while the server runs."""

        def found() -> str | None:
            return next((line for line in self.stderr if text in line), None)

        with self._said:
            line = self._said.wait_for(lambda: found() is not None or self._stderr_closed, timeout) and found()
        if not line:
            raise AssertionError(f"server stderr has no line containing {text!r}; it said:\n" + "\n".join(self.stderr))
        return line

    @property
    def authority(self) -> str:
        """`IP:PORT`, for raw HTTP requests."""
        return self.url.removeprefix("ws://")

    def http_url(self, path: str) -> str:
        return f"http://{self.authority}{path}"

    def connect(
        self,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        path: str = "",
        initialize: bool = True,
        experimental_api: bool = False,
    ) -> Client:
        """A new client connection; the handshake raises websockets' InvalidStatus when refused."""
        client = Client.connect(
            self.url + path,
            token=token,
            headers=headers,
            chaos=self._chaos(len(self.clients)),
            transcript=self._transcript(self.url + path),
        )
        client.inner.validators.extend(self._validators())
        self.clients.append(client)
        if initialize:
            client.initialize(experimental_api=experimental_api)
        return client

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send `signum` and wait for the exit status (killing the process if it ignores us)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5.0)
        return self.process.returncode

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.stop()
