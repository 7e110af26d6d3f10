"""Serve a `--harness-record` recording back as a scripted fake app-server, on stdio or a websocket.

    python -m codex_app_harness.replay RECORDING.jsonl [--connection N] [--listen ws://127.0.0.1:0]
    codex-app-replay RECORDING.jsonl ...

A client under test talks to the replay as to the server that was recorded, without its binary. The
recording is cut into steps: each message the client sent, followed by what the server sent before the
client's next message. When the client sends a request, the replay finds the first unused recorded request
with the same method and params (ids may differ: responses carry the client's id), answers it, then sends
the notifications and server requests recorded after it, in order. A client's answer to a server request
is matched by the request's id, a notification by method and params.

A request the recording does not have is answered with a JSON-RPC error naming it and its params and the
closest recorded ones, said on stderr too, and the replay exits with status 1 when the client hangs up;
CI fails even if the client swallowed the error. `--ignore PATH` leaves a params field out of the
comparison (a dotted path, e.g. `cwd`, for values that differ per run). Secrets (`apiKey`, tokens) are
never written to a recording; their recorded `<redacted>` matches any value.

With `--listen ws://HOST:PORT` (port 0: the OS picks) every connection replays the chosen recorded
connection from the start; the address is printed on stderr as `listening on: ws://IP:PORT`, as
app-servers do.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_app_harness.transcript import REDACTED

UNKNOWN_REQUEST = -32601
"""JSON-RPC 2.0 "Method not found": the closest standard code to "this recording has no such request"."""
PREVIEW = 300


class RecordingError(Exception):
    """The recording file is missing, malformed, or lacks the connection asked for."""


@dataclass
class Step:
    """One message the client sent in the recording, and what the server sent after it."""

    kind: str
    """"request", "notification" or "answer" (the client's response to a server request)."""
    method: str | None
    params: Any
    recorded_id: Any
    follow: list[dict[str, Any]] = field(default_factory=list)
    used: bool = False


def load(path: Path, connection: int = 0) -> tuple[list[dict[str, Any]], list[Step]]:
    """(what the server sent before the client's first message, the client's steps) of one connection."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror}") from None
    opening: list[dict[str, Any]] = []
    steps: list[Step] = []
    seen: set[int] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise RecordingError(f"{path}:{number}: not JSON") from None
        if not isinstance(record, dict):
            raise RecordingError(f"{path}:{number}: not a recording record")
        seen.add(record.get("connection", 0))
        if record.get("connection", 0) != connection or "message" not in record:
            continue  # another connection, a start record, or a non-JSON line the server printed
        message = record["message"]
        if record.get("from") == "server":
            (steps[-1].follow if steps else opening).append(message)
        elif isinstance(message, dict):
            steps.append(client_step(message))
    if connection not in seen:
        raise RecordingError(f"{path} has no connection {connection} (it has {sorted(seen) or 'none'})")
    return opening, steps


def client_step(message: dict[str, Any]) -> Step:
    if "method" in message:
        kind = "request" if "id" in message else "notification"
        return Step(kind, message["method"], message.get("params"), message.get("id"))
    return Step("answer", None, None, message.get("id"))


def without(params: Any, ignored: Sequence[str]) -> Any:
    """`params` with the dotted paths in `ignored` removed (a missing path is no error)."""
    if not ignored or not isinstance(params, dict):
        return params
    trimmed = copy.deepcopy(params)
    for dotted in ignored:
        *parents, last = dotted.split(".")
        node: Any = trimmed
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return trimmed


def same(recorded: Any, live: Any) -> bool:
    """Equal as JSON values, where a recorded REDACTED stands for any value (the secret it replaced)."""
    if recorded == REDACTED:
        return True
    if isinstance(recorded, dict) and isinstance(live, dict):
        return recorded.keys() == live.keys() and all(same(recorded[key], live[key]) for key in recorded)
    if isinstance(recorded, list) and isinstance(live, list):
        return len(recorded) == len(live) and all(same(r, v) for r, v in zip(recorded, live, strict=True))
    return bool(recorded == live) and type(recorded) is type(live)


def _preview(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= PREVIEW else text[:PREVIEW] + "…"


class Replay:
    """The replay of one connection: feed it each client message, send what it returns, in order."""

    def __init__(
        self, opening: list[dict[str, Any]], steps: list[Step], *, source: str, ignored: Sequence[str] = ()
    ) -> None:
        self.opening = opening
        self.steps = [copy.copy(step) for step in steps]
        self.source = source
        self.ignored = list(ignored)
        self.unknown: list[str] = []
        """What the recording did not have, one line each (the replay fails if this is not empty)."""
        self._live_ids: dict[str, Any] = {}
        """Recorded request id (as JSON) -> the id the client used for it in this replay."""
        self._held: dict[str, dict[str, Any]] = {}
        """Responses due before their request was matched, by recorded id."""

    def start(self) -> list[dict[str, Any]]:
        """What the server sent before the client said anything."""
        return self._emit(self.opening)

    def receive(self, message: Any) -> list[dict[str, Any]]:
        """The server's messages in answer to one client message."""
        if not isinstance(message, dict):
            self.complain(f"a message that is not a JSON object: {_preview(message)}")
            return [{"id": None, "error": {"code": -32600, "message": "replay: not a JSON-RPC message"}}]
        step = client_step(message)
        if step.kind == "answer":
            found = self._next(lambda s: s.kind == "answer" and s.recorded_id == step.recorded_id)
        else:
            wanted = without(step.params, self.ignored)
            found = self._next(
                lambda s: (
                    s.kind == step.kind and s.method == step.method and same(without(s.params, self.ignored), wanted)
                )
            )
        if found is None:
            return self._not_recorded(step, message)
        found.used = True
        replies: list[dict[str, Any]] = []
        if found.kind == "request":
            key = json.dumps(found.recorded_id)
            self._live_ids[key] = message["id"]
            held = self._held.pop(key, None)
            if held is not None:
                replies.append({**held, "id": message["id"]})
        return replies + self._emit(found.follow)

    def _next(self, wanted: Callable[[Step], bool]) -> Step | None:
        return next((step for step in self.steps if not step.used and wanted(step)), None)

    def _emit(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for message in messages:
            if "method" not in message and "id" in message:  # a response: to the client's id for that request
                key = json.dumps(message["id"])
                if key not in self._live_ids:
                    self._held[key] = message
                    continue
                message = {**message, "id": self._live_ids[key]}
            out.append(message)
        return out

    def _not_recorded(self, step: Step, message: dict[str, Any]) -> list[dict[str, Any]]:
        if step.kind == "answer":
            self.complain(f"an answer to server request id {step.recorded_id!r}, which the recording never sent")
            return []
        same_method = [s for s in self.steps if s.kind == step.kind and s.method == step.method]
        unused = [s for s in same_method if not s.used]
        if unused:
            detail = "recorded params of unused ones: " + "; ".join(_preview(s.params) for s in unused[:3])
        elif same_method:
            detail = f"every recorded {step.method} ({len(same_method)}) was already replayed"
        else:
            methods = sorted({s.method for s in self.steps if s.kind == step.kind and s.method})
            detail = "recorded methods: " + ", ".join(methods)
        text = (
            f"{step.kind} {step.method} with params {_preview(step.params)} is not in the recording "
            f"{self.source}; {detail}"
        )
        self.complain(text)
        if step.kind == "notification":
            return []
        return [{"id": message["id"], "error": {"code": UNKNOWN_REQUEST, "message": f"replay: {text}"}}]

    def complain(self, text: str) -> None:
        self.unknown.append(text)
        print(f"replay: {text}", file=sys.stderr, flush=True)

    def summary(self) -> str:
        requests = [step for step in self.steps if step.kind == "request"]
        served = sum(step.used for step in requests)
        verdict = f"{len(self.unknown)} not in the recording" if self.unknown else "all in the recording"
        return f"replay: served {served} of {len(requests)} recorded requests; {verdict}"


def serve_stdio(make: Callable[[], Replay]) -> int:
    """One connection on stdin/stdout; returns the exit status when the client closes stdin."""
    replay = make()

    def send(messages: list[dict[str, Any]]) -> None:
        for message in messages:  # one write per message, as app-servers do
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()

    send(replay.start())
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            replay.complain(f"a line that is not JSON: {line[:PREVIEW]!r}")
            send([{"id": None, "error": {"code": -32700, "message": "replay: parse error"}}])
            continue
        send(replay.receive(message))
    print(replay.summary(), file=sys.stderr, flush=True)
    return 1 if replay.unknown else 0


async def serve_websocket(make: Callable[[], Replay], host: str, port: int) -> int:
    """Every connection replays the recording from the start; returns the status once SIGTERM/SIGINT arrives."""
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed

    failures: list[str] = []

    async def handle(connection: ServerConnection) -> None:
        replay = make()
        try:
            for message in replay.start():
                await connection.send(json.dumps(message))
            async for frame in connection:
                try:
                    parsed = json.loads(frame)
                except ValueError:
                    replay.complain(f"a frame that is not JSON: {str(frame)[:PREVIEW]!r}")
                    continue
                for message in replay.receive(parsed):
                    await connection.send(json.dumps(message))
        except ConnectionClosed:
            pass
        finally:
            print(replay.summary(), file=sys.stderr, flush=True)
            failures.extend(replay.unknown)

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with serve(handle, host, port) as server:
        bound = server.sockets[0].getsockname()
        print(f"listening on: ws://{bound[0]}:{bound[1]}", file=sys.stderr, flush=True)
        await stop.wait()
    return 1 if failures else 0


def parse_listen(value: str) -> tuple[str, int] | None:
    """None for stdio; (host, port) for `ws://HOST:PORT`."""
    if value in ("stdio", "stdio://"):
        return None
    if not value.startswith("ws://"):
        raise argparse.ArgumentTypeError(f"expected stdio:// or ws://HOST:PORT, got {value!r}")
    host, _, port = value.removeprefix("ws://").rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected ws://HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codex_app_harness.replay",
        description="Serve a --harness-record recording back as a scripted fake app-server.",
        epilog="A request the recording lacks is answered with an error naming it, and the exit status is 1.",
    )
    parser.add_argument("recording", type=Path, help="a JSONL file written by pytest --harness-record=DIR")
    parser.add_argument("--connection", type=int, default=0, help="which recorded connection to serve (default 0)")
    parser.add_argument(
        "--listen",
        type=parse_listen,
        default=None,
        metavar="stdio://|ws://HOST:PORT",
        help="stdio (default) or a websocket address; port 0 lets the OS choose",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PATH",
        help="a params field (dotted path) left out when matching requests; repeatable",
    )
    args = parser.parse_args(argv)
    try:
        opening, steps = load(args.recording, args.connection)
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    source = f"{args.recording} (connection {args.connection})"

    def make() -> Replay:
        return Replay(opening, steps, source=source, ignored=args.ignore)

    if args.listen is None:
        return serve_stdio(make)
    host, port = args.listen
    return asyncio.run(serve_websocket(make, host, port))


if __name__ == "__main__":
    sys.exit(main())
