"""What a config value may be: the known keys, and the types of the keys handlers rely on.

Messages follow serde's wording ("invalid type: integer `3`, expected a string") because clients already
show upstream's text to users; the key path says where, the resolver adds the file line.

Only keys whose type matters to this server are typed. Every other known key is accepted as written, and
keys nobody knows are reported (never rejected), as upstream does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from server.config.defaults import DEFAULT_CONFIG, PROFILE_KEYS
from server.config.feature_table import ALIASES as FEATURE_ALIASES
from server.config.feature_table import ROWS

Check = Callable[[Any], str | None]
"""Returns None when the value fits, else the serde-style reason."""


def describe(value: Any) -> str:
    """serde's `Unexpected` wording for a TOML value."""
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, list):
        return "sequence"
    return "map"


def string(value: Any) -> str | None:
    return None if isinstance(value, str) else f"invalid type: {describe(value)}, expected a string"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"invalid type: {describe(value)}, expected a boolean"


def integer(name: str, minimum: int | None) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"invalid type: {describe(value)}, expected {name}"
        if minimum is not None and value < minimum:
            return f"invalid value: {describe(value)}, expected {name}"
        return None

    return check


def variants(*names: str, also: Callable[[Any], bool] | None = None) -> Check:
    """A string enum; `also` admits the non-string forms some enums have (granular approval policy)."""
    expected = ", ".join(f"`{name}`" for name in names)

    def check(value: Any) -> str | None:
        if also is not None and also(value):
            return None
        if not isinstance(value, str):
            return f"invalid type: {describe(value)}, expected a string"
        if value not in names:
            return f"unknown variant `{value}`, expected one of {expected}"
        return None

    return check


I64 = integer("i64", None)
USIZE = integer("usize", 0)
APPROVALS_REVIEWER = variants("user", "auto_review", "guardian_subagent")
PROFILE_FIELDS: dict[str, Check] = {
    "model": string,
    "model_provider": string,
    "approval_policy": variants("untrusted", "on-request", "never", also=lambda value: isinstance(value, dict)),
    "approvals_reviewer": APPROVALS_REVIEWER,
    "sandbox_mode": variants("read-only", "workspace-write", "danger-full-access"),
    "model_reasoning_effort": string,
    "model_reasoning_summary": variants("auto", "concise", "detailed", "none"),
    "model_verbosity": variants("low", "medium", "high"),
    "service_tier": string,
    "chatgpt_base_url": string,
    "web_search": variants("disabled", "cached", "indexed", "live"),
}

OUR_KEYS: dict[str, Check] = {
    "login_issuer": string,
    "zsh_path": string,
}
"""Keys only this server reads (upstream 0.163 ignores them): the ChatGPT issuer base URL, overridden by
`CODEX_APP_SERVER_LOGIN_ISSUER`; and the patched zsh, under which `!` commands and the model's scripts run
with each exec approved on its own (server.threads.exec_approval)."""

TYPES: dict[str, Check] = {
    **PROFILE_FIELDS,
    "review_model": string,
    "model_context_window": I64,
    "model_auto_compact_token_limit": I64,
    "model_auto_compact_token_limit_scope": variants("total", "body_after_prefix"),
    "forced_login_method": variants("chatgpt", "api"),
    "instructions": string,
    "developer_instructions": string,
    "compact_prompt": string,
    "openai_base_url": string,
    **OUR_KEYS,
    "profile": string,
    "project_doc_max_bytes": USIZE,
    "hide_agent_reasoning": boolean,
    "show_raw_agent_reasoning": boolean,
    "history.persistence": variants("save-all", "none"),
    "history.max_bytes": USIZE,
    "plugins.*.enabled": boolean,
    **{f"profiles.*.{key}": check for key, check in PROFILE_FIELDS.items()},
    "features.*": boolean,
}
"""Dotted key patterns (`*` = any one segment) to their check; the first matching pattern wins."""

REPORTED_AS: dict[str, str] = {"features.*": "features"}
"""upstream deserialises `[features]` as one map, so its errors name the table, not the flag."""

FEATURE_STRUCT_FIELDS = frozenset(DEFAULT_CONFIG["features"]) | {"network_proxy"}
KNOWN_FEATURES = frozenset(row[0] for row in ROWS) | FEATURE_STRUCT_FIELDS | frozenset(FEATURE_ALIASES)
UNTYPED_FEATURES = frozenset({"network_proxy"})
"""Feature keys that also take a table (`[features.network_proxy]`)."""

KNOWN_CHILDREN: dict[str, frozenset[str]] = {
    "": frozenset(DEFAULT_CONFIG) | frozenset(OUR_KEYS),
    "features": KNOWN_FEATURES,
    "history": frozenset(DEFAULT_CONFIG["history"]),
    "shell_environment_policy": frozenset(DEFAULT_CONFIG["shell_environment_policy"]),
    "profiles.*": frozenset(PROFILE_KEYS),
    "profiles.*.features": KNOWN_FEATURES,
}
"""Tables whose keys are a closed set (others, such as `mcp_servers.<name>`, are free-form here)."""


@dataclass(frozen=True)
class TypeProblem:
    key: tuple[str, ...]
    """Where the bad value is."""
    reported: str
    """The key path upstream names in its message."""
    message: str


def matches(pattern: str, key: tuple[str, ...]) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(key) and all(part in ("*", actual) for part, actual in zip(parts, key, strict=True))


def rule_for(key: tuple[str, ...]) -> tuple[str, Check] | None:
    if key[:1] == ("features",) and key[-1] in UNTYPED_FEATURES:
        return None
    for pattern, check in TYPES.items():
        if matches(pattern, key):
            return pattern, check
    return None


def leaves(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (key path, value) pair, tables flattened, arrays kept whole."""
    for name, value in table.items():
        key = (*prefix, name)
        if isinstance(value, dict):
            yield from leaves(value, key)
        else:
            yield key, value


def type_problems(table: dict[str, Any]) -> list[TypeProblem]:
    """Values of typed keys that do not fit, in document order."""
    problems: list[TypeProblem] = []
    for key, value in leaves(table):
        rule = rule_for(key)
        if rule is None:
            continue
        pattern, check = rule
        message = check(value)
        if message is not None:
            problems.append(TypeProblem(key, REPORTED_AS.get(pattern, ".".join(key)), message))
    return problems


def known_children(table_key: tuple[str, ...]) -> frozenset[str] | None:
    dotted = ".".join(table_key)
    for pattern, names in KNOWN_CHILDREN.items():
        if pattern == dotted or (pattern and matches(pattern, table_key)):
            return names
    return None


def unknown_keys(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[str]:
    """Dotted paths of keys this version does not know, sorted as upstream lists them."""
    found: list[str] = []
    allowed = known_children(prefix)
    for name, value in table.items():
        key = (*prefix, name)
        if allowed is not None and name not in allowed:
            found.append(".".join(key))
        elif isinstance(value, dict):
            found.extend(unknown_keys(value, key))
    return sorted(found)
