"""Administrator requirements (`/etc/codex/requirements.toml`), as `configRequirements/read` reports them.

Requirements constrain what users may configure (approval policies, sandbox modes, login methods...).
Upstream answers `requirements: null` when no file sets anything it recognises, and otherwise the whole
`ConfigRequirements` object of its schema with every field present (null when unset). Two fields are
normalised the way upstream reports them: `allowedLoginMethods` defaults to both methods, and
`allowedWebSearchModes` always includes `disabled` (turning search off is never forbidden).

Scalar and list keys are reported as written, under the camelCase name of the TOML key; `[features]` is
reported as `featureRequirements`. The nested policy tables (browser, computer use, network, models, hooks)
are not interpreted by this server and are reported as null.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_camel

SYSTEM_REQUIREMENTS = Path("/etc/codex/requirements.toml")

WIRE_FIELDS = (
    "modelProvider",
    "modelProviders",
    "allowedLoginMethods",
    "cliAuthCredentialsStore",
    "chatgptBaseUrl",
    "additionalDeveloperInstructions",
    "allowedApprovalPolicies",
    "allowedApprovalsReviewers",
    "allowedSandboxModes",
    "allowedWindowsSandboxImplementations",
    "allowedPermissionProfiles",
    "defaultPermissions",
    "allowedWebSearchModes",
    "allowManagedHooksOnly",
    "allowBrowserAndComputerUse",
    "allowAppshots",
    "allowRemoteControl",
    "computerUse",
    "browserUse",
    "inAppBrowser",
    "featureRequirements",
    "hooks",
    "enforceResidency",
    "network",
    "application",
    "autoReview",
    "models",
    "sqliteHome",
    "logDir",
    "modelCatalogJson",
    "checkForUpdateOnStartup",
    "allowLoginShell",
    "feedback",
)
"""upstream's `ConfigRequirements` fields, in the order it writes them."""

NOT_PASSED_THROUGH = frozenset(
    {
        "computerUse",
        "browserUse",
        "inAppBrowser",
        "featureRequirements",
        "hooks",
        "network",
        "application",
        "autoReview",
        "models",
        "feedback",
    }
)
"""Fields built from nested tables (or, for featureRequirements, from `[features]`), never copied as read."""

PASSED_THROUGH = frozenset(WIRE_FIELDS) - NOT_PASSED_THROUGH
"""Fields whose TOML value (scalar, list or flat table) is reported unchanged."""

ALL_LOGIN_METHODS = ["api", "chatgpt"]


def read(path: Path = SYSTEM_REQUIREMENTS) -> dict[str, Any] | None:
    """The wire `requirements` object, or None when the file is absent, unreadable or sets nothing known.

    A file that is not TOML counts as absent: this server keeps answering instead of refusing to start.
    """
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return report(values)


def report(values: dict[str, Any]) -> dict[str, Any] | None:
    """`values` (the parsed TOML) as upstream's `ConfigRequirements`, or None when nothing known is set."""
    found: dict[str, Any] = {}
    for key, value in values.items():
        wire = to_camel(key)
        if wire in PASSED_THROUGH:
            found[wire] = value
    features = values.get("features")
    if isinstance(features, dict) and features:
        found["featureRequirements"] = {name: bool(flag) for name, flag in features.items()}
    if not found:
        return None
    requirements: dict[str, Any] = dict.fromkeys(WIRE_FIELDS)
    requirements.update(found)
    if requirements["allowedLoginMethods"] is None:
        requirements["allowedLoginMethods"] = list(ALL_LOGIN_METHODS)
    modes = requirements["allowedWebSearchModes"]
    if isinstance(modes, list) and "disabled" not in modes:
        requirements["allowedWebSearchModes"] = [*modes, "disabled"]
    return requirements
