"""Normalising a manifest's `interface.defaultPrompt` (string or array) to what the wire promises.

The rule, as upstream 0.163 applies it (protocol notes section 15): never an error. A string becomes a
one-entry list; in a list, entries that are not strings, are blank or are longer than MAX_CHARS are
dropped first, then the rest is capped at MAX_ENTRIES. Nothing left (or any other JSON type) is null.
A string that is too long is null rather than truncated: a cut-off prompt would be sent as written.
"""

from __future__ import annotations

from typing import Any

MAX_ENTRIES = 3
MAX_CHARS = 128


def usable(entry: Any) -> bool:
    return isinstance(entry, str) and bool(entry.strip()) and len(entry) <= MAX_CHARS


def normalise_default_prompt(value: Any) -> list[str] | None:
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    kept = [entry for entry in entries if usable(entry)][:MAX_ENTRIES]
    return kept or None
