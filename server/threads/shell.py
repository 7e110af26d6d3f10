"""Running commands for a thread: output streamed as it comes, bounded by a timeout, killed cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

DEFAULT_TIMEOUT_MS = 60_000
READ_CHUNK = 8192
TIMEOUT_EXIT_CODE = 124
"""Exit code reported for a command we killed at its timeout (as `timeout(1)` does)."""


@dataclass(frozen=True)
class Shell:
    """The shell that runs `!` commands, and the model's scripts when it is the patched zsh."""

    path: str
    patched: bool
    """The EXEC_WRAPPER zsh: every program it execs can be sent through the approval bridge."""

    def argv(self, script: str) -> list[str]:
        return [self.path, "-lc", script]


def choose_shell(zsh_path: str | None, environ: Mapping[str, str]) -> Shell:
    """The configured patched zsh (`zsh_path`), else the user's login shell, else bash."""
    if zsh_path:
        return Shell(zsh_path, patched=True)
    return Shell(environ.get("SHELL") or "/bin/bash", patched=False)


@dataclass
class CommandResult:
    exit_code: int
    output: str
    duration_ms: int
    timed_out: bool = False


async def run_command(
    argv: Sequence[str],
    *,
    cwd: str,
    on_output: Callable[[str], None],
    timeout_ms: int | None = None,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run argv with stdout and stderr merged, reporting output chunks as they arrive."""
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        message = f"failed to start {argv[0]}: {exc.strerror}\n"
        on_output(message)
        return CommandResult(127, message, int((time.monotonic() - started) * 1000))
    chunks: list[str] = []
    assert process.stdout is not None

    async def pump() -> None:
        assert process.stdout is not None
        while data := await process.stdout.read(READ_CHUNK):
            text = data.decode(errors="replace")
            chunks.append(text)
            on_output(text)
        await process.wait()

    timed_out = False
    try:
        await asyncio.wait_for(pump(), (timeout_ms or DEFAULT_TIMEOUT_MS) / 1000)
    except TimeoutError:
        timed_out = True
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            await process.wait()
    exit_code = TIMEOUT_EXIT_CODE if timed_out else (process.returncode or 0)
    return CommandResult(exit_code, "".join(chunks), int((time.monotonic() - started) * 1000), timed_out)
