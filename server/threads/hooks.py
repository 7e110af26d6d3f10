"""Command hooks: discovered from config, gated by trust, run as subprocesses with JSON in and out.

Layout and payloads follow upstream (protocol notes, section 13.1): matcher groups per event under
`[hooks]` in config.toml or in `$CODEX_HOME/hooks.json`, keys `<source>:<event_snake>:<group>:<handler>`,
a hook runs only once its current definition hash is trusted (`[hooks.state."<key>"] trusted_hash`) or the
thread bypasses trust. A hook that fails, prints garbage or outlives its timeout is reported and ignored:
it never hangs or fails a turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 600
EVENTS = ("SessionStart", "Stop")
"""Events this server runs; others in the config are listed but never fired."""
KNOWN_EVENTS = (
    "PreToolUse", "PermissionRequest", "PostToolUse", "PreCompact", "PostCompact", "SessionStart",
    "SessionEnd", "UserPromptSubmit", "SubagentStart", "SubagentStop", "Stop", "Interrupt",
)  # fmt: skip
MAX_OUTPUT_BYTES = 1 << 20


def snake(event: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event).lower()


def camel(event: str) -> str:
    """The wire name of an event (upstream's HookEventName): `SessionStart` -> `sessionStart`."""
    return event[:1].lower() + event[1:]


def kebab(event: str) -> str:
    return snake(event).replace("_", "-")


@dataclass(frozen=True)
class Hook:
    key: str
    event: str
    matcher: str | None
    command: str
    timeout_sec: int
    status_message: str | None
    source_path: str
    source: str
    display_order: int

    @property
    def current_hash(self) -> str:
        """Hash of the definition, independent of where it lives, so moving a file keeps its trust."""
        definition = {
            "event": self.event,
            "matcher": self.matcher,
            "type": "command",
            "command": self.command,
            "timeout": self.timeout_sec,
            "statusMessage": self.status_message,
        }
        digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
        return f"sha256:{digest}"

    @property
    def run_id(self) -> str:
        return f"{kebab(self.event)}:{self.display_order}:{self.source_path}"


@dataclass
class Discovery:
    hooks: list[Hook] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _from_table(table: Any, source_path: str, source: str, found: Discovery) -> None:
    if not isinstance(table, dict):
        return
    order = len(found.hooks)
    for event, groups in table.items():
        if event == "state":
            continue
        if event not in KNOWN_EVENTS:
            found.warnings.append(f"{source_path}: unknown hook event {event!r}")
            continue
        for group_index, group in enumerate(groups if isinstance(groups, list) else []):
            handlers = group.get("hooks") if isinstance(group, dict) else None
            for handler_index, handler in enumerate(handlers if isinstance(handlers, list) else []):
                if not isinstance(handler, dict) or handler.get("type", "command") != "command":
                    continue
                command = handler.get("command")
                if not isinstance(command, str) or not command.strip():
                    found.errors.append(f"{source_path}: {event} hook {group_index}:{handler_index} has no command")
                    continue
                timeout = handler.get("timeout", DEFAULT_TIMEOUT_SECONDS)
                found.hooks.append(
                    Hook(
                        key=f"{source_path}:{snake(event)}:{group_index}:{handler_index}",
                        event=event,
                        matcher=group.get("matcher") if isinstance(group.get("matcher"), str) else None,
                        command=command,
                        timeout_sec=int(timeout) if isinstance(timeout, int | float) else DEFAULT_TIMEOUT_SECONDS,
                        status_message=handler.get("statusMessage"),
                        source_path=source_path,
                        source=source,
                        display_order=order,
                    )
                )
                order += 1


def discover(codex_home: Path, config: Any, cwd: str) -> Discovery:
    """Every hook for a working directory: config.toml, then hooks.json, then a trusted project's file."""
    found = Discovery()
    _from_table(config.get("hooks"), str(codex_home / "config.toml"), "user", found)
    projects = config.get("projects") or {}
    project = projects.get(cwd) if isinstance(projects, dict) else None
    project_trusted = isinstance(project, dict) and project.get("trust_level") == "trusted"
    candidates = [(codex_home / "hooks.json", "user")]
    if project_trusted:
        candidates.append((Path(cwd) / ".codex" / "hooks.json", "project"))
    for path, source in candidates:
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            found.errors.append(f"{path}: {exc}")
            continue
        _from_table(document.get("hooks") if isinstance(document, dict) else None, str(path), source, found)
    return found


def trust_status(hook: Hook, config: Any) -> str:
    state = config.get("hooks.state") or {}
    entry = state.get(hook.key) if isinstance(state, dict) else None
    if not isinstance(entry, dict) or "trusted_hash" not in entry:
        return "untrusted"
    return "trusted" if entry["trusted_hash"] == hook.current_hash else "modified"


def metadata(hook: Hook, config: Any) -> dict[str, Any]:
    """One entry of `hooks/list` (upstream's HookMetadata)."""
    return {
        "key": hook.key,
        "eventName": camel(hook.event),
        "handlerType": "command",
        "command": hook.command,
        "async": False,
        "matcher": hook.matcher,
        "timeoutSec": hook.timeout_sec,
        "statusMessage": hook.status_message,
        "additionalContextLimit": None,
        "sourcePath": hook.source_path,
        "source": hook.source,
        "pluginId": None,
        "displayOrder": hook.display_order,
        "enabled": True,
        "isManaged": False,
        "currentHash": hook.current_hash,
        "trustStatus": trust_status(hook, config),
    }


@dataclass
class HookResult:
    hook: Hook
    status: str
    """completed | blocked | failed (upstream's HookRunStatus; a timeout is `failed` with an error entry)."""
    entries: list[dict[str, str]]
    output: dict[str, Any]
    started_at: int
    duration_ms: int

    @property
    def block_reason(self) -> str | None:
        return self.entries[0]["text"] if self.status == "blocked" and self.entries else None


def run_summary(hook: Hook, scope: str, status: str, started_at: int, **done: Any) -> dict[str, Any]:
    return {
        "id": hook.run_id,
        "eventName": camel(hook.event),
        "handlerType": "command",
        "executionMode": "sync",
        "scope": scope,
        "sourcePath": hook.source_path,
        "source": hook.source,
        "displayOrder": hook.display_order,
        "status": status,
        "statusMessage": hook.status_message,
        "startedAt": started_at,
        "completedAt": done.get("completed_at"),
        "durationMs": done.get("duration_ms"),
        "entries": done.get("entries", []),
    }


async def run(hook: Hook, payload: dict[str, Any], *, cwd: str, codex_home: Path) -> HookResult:
    """Run one hook; never raises for anything the hook does."""
    started_at = int(time.time())
    clock = time.monotonic()

    def finish(status: str, entries: list[dict[str, str]], output: dict[str, Any] | None = None) -> HookResult:
        return HookResult(hook, status, entries, output or {}, started_at, int((time.monotonic() - clock) * 1000))

    env = {**os.environ, "CODEX_HOME": str(codex_home)}
    try:
        process = await asyncio.create_subprocess_shell(
            hook.command,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return finish("failed", [{"kind": "error", "text": f"failed to start hook: {exc.strerror}"}])
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(json.dumps(payload).encode()), hook.timeout_sec)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        await process.wait()
        return finish("failed", [{"kind": "error", "text": f"hook timed out after {hook.timeout_sec}s"}])
    if process.returncode != 0:
        detail = stderr.decode(errors="replace").strip()[:500] or f"exit code {process.returncode}"
        return finish("failed", [{"kind": "error", "text": detail}])
    text = stdout[:MAX_OUTPUT_BYTES].decode(errors="replace").strip()
    if not text:
        return finish("completed", [])
    try:
        output = json.loads(text)
    except ValueError:
        return finish("failed", [{"kind": "error", "text": "hook printed invalid JSON"}])
    if not isinstance(output, dict):
        return finish("failed", [{"kind": "error", "text": "hook output must be a JSON object"}])
    if output.get("decision") == "block":
        reason = output.get("reason")
        if not isinstance(reason, str) or not reason:
            return finish("failed", [{"kind": "error", "text": "a blocking hook must give a reason"}], output)
        return finish("blocked", [{"kind": "feedback", "text": reason}], output)
    specific = output.get("hookSpecificOutput")
    context = specific.get("additionalContext") if isinstance(specific, dict) else None
    entries = [{"kind": "context", "text": context}] if isinstance(context, str) and context else []
    return finish("completed", entries, output)


def escape(text: str) -> str:
    """Escaping inside a `<hook_prompt>` element: &, < and > (quotes stay, as upstream leaves them)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hook_prompt_message(blocked: list[HookResult]) -> dict[str, Any]:
    """The one user message that carries every blocking Stop hook's reason, in display order."""
    parts = [
        {
            "type": "input_text",
            "text": f'<hook_prompt hook_run_id="{r.hook.run_id}">{escape(r.block_reason or "")}</hook_prompt>',
        }
        for r in sorted(blocked, key=lambda r: r.hook.display_order)
    ]
    return {"type": "message", "role": "user", "content": parts}
