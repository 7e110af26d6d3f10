"""Thread operations besides running turns: names, archive round trips, metadata, pages of turns and loaded
threads, injected history. Errors and shapes follow upstream 0.163's answers to the same requests."""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

from server.protocol.errors import InvalidRequest
from server.threads.rollout import Json
from server.threads.store import ThreadStore
from server.threads.thread import Thread

_UUID_CHARS = re.compile(r"[0-9a-fA-F-]")
_UUID = re.compile(r"^(urn:uuid:)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
SERVICE_TIERS = {None: "default", "default": "default", "fast": "priority", "priority": "priority", "flex": "flex"}
"""What upstream echoes as `serviceTier` for each requested tier (an explicit null is the default tier); a tier
it does not know is echoed as null."""


def check_thread_id(thread_id: str, *, noun: str = "thread") -> None:
    """Reject an id that is not a UUID before any lookup, worded like the `uuid` crate upstream parses with."""
    if _UUID.match(thread_id):
        return
    body = thread_id.removeprefix("urn:uuid:")
    for index, char in enumerate(body, start=1):
        if not _UUID_CHARS.match(char):
            detail = f"expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `{char}` at {index}"
            raise InvalidRequest(f"invalid {noun} id: invalid character: {detail}")
    raise InvalidRequest(f"invalid {noun} id: invalid length: expected 32 hex digits, found {len(body)}")


def service_tier(requested: str | None) -> str | None:
    return SERVICE_TIERS.get(requested)


def set_name(thread: Thread, name: str) -> None:
    if not name.strip():
        raise InvalidRequest("thread name must not be empty")
    thread.update_meta(name=name)


def unarchive(store: ThreadStore, thread_id: str) -> Thread:
    """Move an archived rollout back under `sessions/YYYY/MM/DD/` (the day its file name records)."""
    check_thread_id(thread_id, noun="session")
    archived = (
        next(store.archive_dir.glob(f"rollout-*-{thread_id}.jsonl"), None) if store.archive_dir.is_dir() else None
    )
    if archived is None or thread_id in store.loaded:
        raise InvalidRequest(f"no archived rollout found for thread id {thread_id}")
    day = archived.name.removeprefix("rollout-")[:10].split("-")
    target = store.sessions_dir.joinpath(*day, archived.name) if len(day) == 3 else store.sessions_dir / archived.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(archived, target)
    thread = store.get(thread_id)
    store.loaded.pop(thread_id, None)
    return thread


def update_metadata(thread: Thread, fields_set: set[str], git_info: Any, project_id: str | None) -> None:
    changes: Json = {}
    if "git_info" in fields_set and git_info is not None:
        patch = git_info.model_dump(exclude_unset=True)
        if not patch:
            raise InvalidRequest("gitInfo must include at least one field")
        current = thread.meta.get("gitInfo") or {"sha": None, "branch": None, "originUrl": None}
        renamed = {"originUrl" if key == "origin_url" else key: value for key, value in patch.items()}
        changes["gitInfo"] = {**current, **renamed}
    if "project_id" in fields_set:
        changes["projectId"] = project_id or None
    if not changes and not {"daybreak_enabled"} & fields_set:
        raise InvalidRequest("thread metadata update must include at least one field")
    if changes:
        thread.update_meta(**changes)


def page(ids: list[str], cursor: str | None, limit: int | None) -> tuple[list[str], str | None]:
    """A page of `ids` after `cursor` (the last id of the previous page)."""
    start = 0
    if cursor:
        if cursor not in ids:
            raise InvalidRequest(f"invalid cursor: {cursor}")
        start = ids.index(cursor) + 1
    end = len(ids) if not limit else min(len(ids), start + limit)
    chosen = ids[start:end]
    return chosen, (chosen[-1] if end < len(ids) and chosen else None)


def turns_page(thread: Thread, cursor: str | None, limit: int | None, direction: str, view: str) -> Json:
    """thread/turns/list: turns newest first unless `asc`; the cursor is opaque to clients."""
    turns = [turn for turn in thread.turns if turn.get("status") != "inProgress" or turn is thread.turns[-1]]
    ordered = turns if direction == "asc" else list(reversed(turns))
    start = 0
    if cursor:
        try:
            start = int(json.loads(cursor)["offset"])
        except (ValueError, KeyError, TypeError):
            raise InvalidRequest(f"invalid cursor: {cursor}") from None
    end = len(ordered) if not limit else min(len(ordered), start + limit)
    with_items = view != "notLoaded"
    data = [
        {**turn, "items": list(turn["items"]) if with_items else [], "itemsView": view} for turn in ordered[start:end]
    ]
    next_cursor = json.dumps({"offset": end}) if end < len(ordered) else None
    return {"data": data, "nextCursor": next_cursor, "backwardsCursor": json.dumps({"offset": start})}


def inject(thread: Thread, items: list[Any]) -> None:
    """Append raw Responses input items to what the model sees on later turns."""
    if not items:
        raise InvalidRequest("items must not be empty")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "type" not in item:
            raise InvalidRequest(f"items[{index}] is not a valid response item: missing field `type`")
    turn_id = thread.turns[-1]["id"] if thread.turns else None
    for item in items:
        thread.remember(turn_id or "", item)


APPROVED_ACTION_PREAMBLE = (
    "The user has manually approved a specific action that was previously `Rejected`.\n\n"
    "Treat this as approval to perform that exact action in the same context in which it was originally "
    "requested.\nDo not assume this also authorizes similar operations with different payloads.\n\n"
    "Approved action:\n"
)
"""How upstream 0.163 words the developer message a manual approval adds to the history (measured)."""

COMMAND_SOURCES = ("shell", "unified_exec")


def check_guardian_event(event: Any) -> None:
    """What upstream's GuardianAssessmentEvent decoding refuses, in its order: errors inside the action
    first (serde decodes a field as it meets it), then the first missing field in declaration order."""
    if not isinstance(event, dict):
        raise InvalidRequest("invalid Guardian denial event: missing field `id`")
    action = event.get("action")
    if isinstance(action, dict):
        if "type" not in action:
            raise InvalidRequest("invalid Guardian denial event: missing field `type`")
        source = action.get("source")
        if action["type"] == "command" and source is not None and source not in COMMAND_SOURCES:
            raise InvalidRequest(
                f"invalid Guardian denial event: unknown variant `{source}`, expected `shell` or `unified_exec`"
            )
    for name in ("id", "status", "action"):
        if name not in event:
            raise InvalidRequest(f"invalid Guardian denial event: missing field `{name}`")


def approve_denied_action(thread: Thread, event: Any) -> None:
    """Tell the model, on its next request, that the user approved the action an automatic review denied.

    Upstream adds this developer message to the thread's history and answers `{}`: the next attempt is
    still reviewed, and the reviewer sees the approval in the history it is given. `event` has passed
    `check_guardian_event`.
    """
    approved = json.dumps({"action": event["action"], "outcome": "allowed"}, indent=2, ensure_ascii=False)
    text = APPROVED_ACTION_PREAMBLE + approved
    inject(thread, [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": text}]}])
