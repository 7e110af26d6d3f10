"""Identifiers and clocks shared by threads, turns and items."""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> str:
    """A time-ordered UUID (version 7), like upstream's ids: sorting ids sorts by creation time."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of upstream's `startedAtMs` / `completedAtMs` fields."""
    return time.time_ns() // 1_000_000
