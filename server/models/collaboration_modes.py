"""The collaboration-mode presets upstream 0.163 offers clients (`collaborationMode/list`).

A preset is a mask over the thread's settings: `plan` asks for a plan before acting and raises reasoning to
`medium`; `default` changes nothing. `model: null` keeps the thread's model. The wire keeps upstream's
snake_case `reasoning_effort` (its schema's `CollaborationModeMask`).
"""

from __future__ import annotations

from typing import Any

PRESETS: tuple[dict[str, Any], ...] = (
    {"name": "Plan", "mode": "plan", "model": None, "reasoning_effort": "medium"},
    {"name": "Default", "mode": "default", "model": None, "reasoning_effort": None},
)


def presets() -> list[dict[str, Any]]:
    """A fresh copy of the presets, in upstream's order."""
    return [dict(preset) for preset in PRESETS]
