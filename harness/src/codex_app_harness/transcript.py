"""Every message of one connection, both ways, with its time: the tail for failure reports, all of it for
`--harness-record`.

The transcript keeps the lines as they crossed the wire (no re-encoding), so recording costs one string
format per message and a recording shows exactly what the server sent, key order and all.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

TAIL_KEPT = 200
"""Messages kept in memory for reports: enough to show how a turn went, bounded for a 10k-notification burst."""
LINE_PREVIEW = 300

CLIENT = "client"
SERVER = "server"

SECRET_KEYS = frozenset({"apiKey", "accessToken", "refreshToken", "idToken", "authToken", "bearerToken", "password"})
"""Fields whose values a recording never holds (a login's API key, a token refresh's answer)."""
REDACTED = "<redacted>"
"""What a recording holds instead; the replay matches any value against it."""
_SECRET_FIELD = re.compile("|".join(f'"{key}"' for key in sorted(SECRET_KEYS)))
"""One scan of a line finds any secret field's key (most lines have none and are written as they are)."""

RecordSink = Callable[[str], None]
"""Takes one finished JSONL record (with its newline)."""


def redacted(value: Any) -> Any:
    """`value` with every secret field's value replaced by REDACTED, at any depth."""
    if isinstance(value, dict):
        return {key: REDACTED if key in SECRET_KEYS else redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def without_secrets(line: str) -> str:
    """A line fit for a report: a JSON message with a secret field comes back re-encoded, redacted."""
    if _SECRET_FIELD.search(line) is None:
        return line
    try:
        return json.dumps(redacted(json.loads(line)))
    except ValueError:
        return REDACTED


class Transcript:
    """The messages of one connection in wire order; `sink`, when set, gets every one as a JSONL record."""

    def __init__(self, sink: RecordSink | None = None, *, connection: int = 0, keep: int = TAIL_KEPT) -> None:
        self.started = time.monotonic()
        self.sink = sink
        self.connection = connection
        self._tail: deque[tuple[float, str, str]] = deque(maxlen=keep)

    def add(self, sender: str, line: str, *, is_json: bool) -> None:
        """One message as sent or received; `is_json` says `line` is a JSON object (else it is recorded as text)."""
        elapsed = time.monotonic() - self.started
        self._tail.append((elapsed, sender, line))  # kept as read: trimming waits until someone looks
        if self.sink is not None:
            text = line.rstrip("\n")
            # A message goes in as it crossed the wire (no re-encoding) unless it holds a secret.
            body = f'"message": {without_secrets(text)}' if is_json else f'"line": {json.dumps(text)}'
            self.sink(f'{{"connection": {self.connection}, "t": {elapsed:.6f}, "from": "{sender}", {body}}}\n')

    def tail(self, count: int = 50) -> list[str]:
        """The last `count` messages, one line each: `+0.012s client> {...}` (long ones cut)."""
        lines = []
        for elapsed, sender, text in list(self._tail)[-count:]:
            arrow = "client>" if sender == CLIENT else "<server"
            shown = without_secrets(text.rstrip("\n"))
            shown = shown if len(shown) <= LINE_PREVIEW else shown[:LINE_PREVIEW] + "…"
            lines.append(f"+{elapsed:.3f}s {arrow} {shown}")
        return lines


class Recording:
    """One test's JSONL file for `--harness-record`: a `start` record per connection, then its messages.

    Lines from several connections interleave in wire order; each record names its connection. Writes after
    `close()` are dropped: a server may still say goodbye while the test's fixtures shut it down.
    """

    def __init__(self, path: Path, test: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.test = test
        self._file: TextIO | None = path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        """Connections of one test write from the harness loop, their start records from the test's thread."""
        self._connections = 0

    def transcript(self, server: str) -> Transcript:
        """The transcript of the test's next connection, recorded here."""
        connection = self._connections
        self._connections += 1
        when = datetime.now(UTC).isoformat(timespec="seconds")
        start = {"server": server, "test": self.test, "at": when}
        self.write(json.dumps({"connection": connection, "start": start}) + "\n")
        return Transcript(self.write, connection=connection)

    def write(self, record: str) -> None:
        with self._lock:
            if self._file is not None:
                self._file.write(record)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def recording_name(nodeid: str) -> str:
    """A file name for a test id: `tests/test_x.py::test_y[a/b]` -> `tests_test_x.py__test_y_a_b_.jsonl`."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", nodeid.replace("::", "__")) + ".jsonl"
