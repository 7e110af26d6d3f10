"""The program the patched zsh runs instead of every external command (`EXEC_WRAPPER`).

zsh calls it as `wrapper PATH ARGV0 ARGS...` (see release/zsh/exec-wrapper.patch). It asks the app-server,
over the unix socket named by CODEX_EXEC_BRIDGE_SOCKET, whether PATH may run, then either becomes that
program (execv: same pid, same environment, so a nested patched zsh keeps wrapping) or exits 126 with the
reason on stderr. It fails closed: no bridge, a dropped connection or an unreadable answer all refuse.

It runs once per exec, so start-up is the cost: a standalone script under `python -I -S` (no site-packages,
no user environment), standard library C modules only. `_socket` rather than `socket` and NUL-separated
bytes rather than JSON: importing `socket` and `json` costs 10 ms per exec here, more than everything
else together. NUL-separated bytes are also exact: argv and paths are bytes that cannot hold a NUL.

Wire format, one request per connection:
    request  cwd NUL path NUL argv0 NUL arg1 ...   (then end of stream)
    answer   b"run"  |  b"deny" NUL message
"""

from __future__ import annotations

import _socket
import os
import sys

SOCKET_ENV = "CODEX_EXEC_BRIDGE_SOCKET"
REFUSED_EXIT_CODE = 126
"""What a shell reports for a command that exists but cannot be executed (POSIX 2.8.2)."""
RUN = b"run"
DENY = b"deny"
MAX_ANSWER_BYTES = 64 * 1024


def refuse(reason: str) -> int:
    sys.stderr.write(f"codex: {reason}\n")
    sys.stderr.flush()
    return REFUSED_EXIT_CODE


def encode_request(cwd: str, path: str, argv: list[str]) -> bytes:
    return b"\0".join(os.fsencode(field) for field in (cwd, path, *argv))


def ask(socket_path: str, request: bytes) -> bytes:
    """Send the request, then read the answer until the bridge closes the connection."""
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.connect(socket_path)
        conn.sendall(request)
        conn.shutdown(_socket.SHUT_WR)
        answer = b""
        while len(answer) <= MAX_ANSWER_BYTES and (chunk := conn.recv(4096)):
            answer += chunk
        return answer
    finally:
        conn.close()


def main(args: list[str]) -> int:
    if len(args) < 2:
        return refuse("exec wrapper: expected PATH ARGV0 [ARGS...] (it is run by the patched zsh)")
    path, argv = args[0], args[1:]
    socket_path = os.environ.get(SOCKET_ENV)
    if not socket_path:
        return refuse(f"exec wrapper: {SOCKET_ENV} is not set, so {path} cannot be approved")
    try:
        answer = ask(socket_path, encode_request(os.getcwd(), path, argv))
    except OSError as exc:
        return refuse(f"exec wrapper: the approval bridge did not answer ({exc}); {path} was not run")
    if answer != RUN:
        verdict, _, message = answer.partition(b"\0")
        if verdict != DENY:
            return refuse(f"exec wrapper: the approval bridge gave no answer; {path} was not run")
        return refuse(message.decode(errors="replace") or f"{path} was not approved")
    try:
        os.execv(path, argv)  # noqa: S606 - becoming the approved program is the whole point
    except OSError as exc:
        return refuse(f"{path}: {exc.strerror}")
    return REFUSED_EXIT_CODE  # not reached: execv either replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
