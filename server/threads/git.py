"""Git facts about a thread's working directory, collected with `git` under a timeout."""

from __future__ import annotations

import asyncio
from typing import Any

GIT_TIMEOUT_SECONDS = 5.0
"""A hung git (a network filesystem, a lock) must not hold up a turn."""


async def _git(cwd: str, *args: str) -> str | None:
    try:
        process = await asyncio.create_subprocess_exec(
            "git", *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError:
        return None
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), GIT_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    return stdout.decode(errors="replace").strip() if process.returncode == 0 else None


async def git_info(cwd: str) -> dict[str, Any] | None:
    """`{sha, branch, originUrl}` (schema GitInfo) for a work tree, None outside one."""
    sha = await _git(cwd, "rev-parse", "HEAD")
    if sha is None:
        return None
    branch = await _git(cwd, "symbolic-ref", "--short", "-q", "HEAD")
    origin = await _git(cwd, "remote", "get-url", "origin")
    return {"sha": sha, "branch": branch or None, "originUrl": origin or None}
