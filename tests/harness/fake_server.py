"""A scripted stdio app-server, so harness tests control exactly what arrives, in what order, and when.

    python fake_server.py SCRIPT.jsonl

The script is JSON lines, one step each, run in order:

    {"on": "initialize", "result": {...}}       from now on, answer every `initialize` request with this
    {"expect": "test/go"}                        read client messages until a `test/go` request arrives
    {"reply": "test/go", "result": {...}}        answer the last `test/go` request (or "error": {...})
    {"notify": "item/started", "params": {...}}  send a notification
    {"burst": 10000, "method": "m", "params": {...}}  send N notifications at once, params + {"n": i}
    {"request": "approval", "id": 7, "params": {...}} send a server->client request
    {"await_answer": 7}                          wait for the client's answer to id 7, then send it back as
                                                 a `fake/answered` notification (params: the whole answer)
    {"env": ["CODEX_HOME", "HOME"]}              send `fake/env` with those variables and the cwd
    {"sleep": 0.2}                               pause
    {"stderr": "text"} / {"stdout": "text"}      write a raw line
    {"exit": 3}                                  die at once with that status

After the last step it keeps serving: `on` rules answer their requests, any other request gets a -32601
error, and end of input ends the process with status 0. Only the standard library, so it starts fast.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


class FakeServer:
    def __init__(self) -> None:
        self.rules: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, list[dict[str, Any]]] = {}
        """Requests read but not yet expected or answered, per method."""
        self.expected: dict[str, Any] = {}
        """The id of the last expected request, per method (for `reply`)."""
        self.answers: dict[str, dict[str, Any]] = {}

    def send(self, message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def read(self) -> bool:
        """Handle one client message; False at end of input."""
        line = sys.stdin.readline()
        if not line:
            return False
        message = json.loads(line)
        if "method" in message and "id" in message:
            rule = self.rules.get(message["method"])
            if rule is not None:
                self.send({"id": message["id"], **rule})
            else:
                self.requests.setdefault(message["method"], []).append(message)
        elif "id" in message:
            self.answers[json.dumps(message["id"])] = message
        return True

    def expect(self, method: str) -> None:
        while not self.requests.get(method):
            if not self.read():
                sys.exit(f"fake server: input ended while expecting {method}")
        self.expected[method] = self.requests[method].pop(0)["id"]

    def await_answer(self, request_id: Any) -> None:
        key = json.dumps(request_id)
        while key not in self.answers:
            if not self.read():
                sys.exit(f"fake server: input ended while awaiting the answer to {request_id!r}")
        self.send({"method": "fake/answered", "params": self.answers.pop(key)})

    def step(self, step: dict[str, Any]) -> None:
        if "on" in step:
            self.rules[step["on"]] = {key: step[key] for key in ("result", "error") if key in step}
        elif "expect" in step:
            self.expect(step["expect"])
        elif "reply" in step:
            answer = {key: step[key] for key in ("result", "error") if key in step} or {"result": {}}
            self.send({"id": self.expected.pop(step["reply"]), **answer})
        elif "notify" in step:
            self.send({"method": step["notify"], "params": step.get("params", {})})
        elif "burst" in step:
            lines = (
                json.dumps({"method": step["method"], "params": {**step.get("params", {}), "n": n}}) + "\n"
                for n in range(step["burst"])
            )
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
        elif "request" in step:
            self.send({"id": step["id"], "method": step["request"], "params": step.get("params", {})})
        elif "await_answer" in step:
            self.await_answer(step["await_answer"])
        elif "env" in step:
            self.send(
                {"method": "fake/env", "params": {**{k: os.environ.get(k) for k in step["env"]}, "cwd": os.getcwd()}}
            )
        elif "sleep" in step:
            time.sleep(step["sleep"])
        elif "stderr" in step:
            sys.stderr.write(step["stderr"] + "\n")
            sys.stderr.flush()
        elif "stdout" in step:
            sys.stdout.write(step["stdout"] + "\n")
            sys.stdout.flush()
        elif "exit" in step:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(step["exit"])
        else:
            sys.exit(f"fake server: unknown step {step!r}")

    def serve(self) -> None:
        """After the script: answer by rule or refuse, until the client hangs up."""
        for method, pending in self.requests.items():
            for request in pending:
                self.refuse(method, request["id"])
        self.requests.clear()
        while self.read():
            for method, pending in self.requests.items():
                for request in pending:
                    self.refuse(method, request["id"])
            self.requests.clear()

    def refuse(self, method: str, request_id: Any) -> None:
        self.send({"id": request_id, "error": {"code": -32601, "message": f"fake server: no rule for {method}"}})


def main(script: Path) -> None:
    server = FakeServer()
    for line in script.read_text().splitlines():
        if line.strip():
            server.step(json.loads(line))
    server.serve()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
