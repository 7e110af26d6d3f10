"""Which `permissionProfile` names a `command/exec` may ask for: upstream's built-in profiles, or one
defined under `[permissions]` in config.toml. This server checks the name as upstream does, and then runs
the command without a sandbox whatever the profile says."""

from __future__ import annotations

from typing import Any

BUILT_IN_PROFILES = frozenset({":read-only", ":workspace", ":danger-full-access"})
"""Upstream 0.163's built-in permission profiles, as its binary accepts them."""


class UnknownPermissionProfile(ValueError):
    """A profile name upstream would refuse; the message is upstream's."""


def check_permission_profile(name: str, permissions: Any) -> None:
    """Raise UnknownPermissionProfile unless `name` is built in or a table of the `[permissions]` config."""
    if name.startswith(":"):
        if name not in BUILT_IN_PROFILES:
            raise UnknownPermissionProfile(f"default_permissions refers to unknown built-in profile `{name}`")
        return
    if not isinstance(permissions, dict):
        raise UnknownPermissionProfile("default_permissions requires a `[permissions]` table")
    if name not in permissions:
        raise UnknownPermissionProfile(f"default_permissions refers to undefined profile `{name}`")
