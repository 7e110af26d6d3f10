"""`initialize`: parsed by hand, without pydantic, on purpose.

initialize is the first thing every client waits for. Importing asyncio and pydantic costs ~150 ms on the
2-core machines we run on, more than the upstream server needs to answer (70-130 ms), so the rpc core answers
initialize before either is imported. The shapes are small and fixed by upstream's schema
(InitializeParams / InitializeResponse); the checks below produce the same messages as the pydantic path.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server import UPSTREAM_PROTOCOL_VERSION
from server.protocol.errors import invalid_type, missing_field


@dataclass(frozen=True, slots=True)
class ClientInfo:
    name: str
    version: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class InitializeParams:
    client_info: ClientInfo
    experimental_api: bool = False
    opt_out_notification_methods: frozenset[str] = field(default_factory=frozenset)


def _optional(obj: dict[str, Any], key: str, kind: type, expected: str, at: str) -> Any:
    value = obj.get(key)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise invalid_type(value, expected, at=f"{at}.{key}" if at else key)
    return value


def parse_initialize_params(raw: Any) -> InitializeParams:
    """Validate initialize params; errors name the offending field like every other method's do."""
    if raw is None:
        raise missing_field("params")
    if not isinstance(raw, dict):
        raise invalid_type(raw, "struct InitializeParams")
    info = raw.get("clientInfo")
    if info is None:
        raise missing_field("clientInfo")
    if not isinstance(info, dict):
        raise invalid_type(info, "struct ClientInfo", at="clientInfo")
    for key in ("name", "version"):
        if key not in info:
            raise missing_field(key)
        if not isinstance(info[key], str):
            raise invalid_type(info[key], "a string", at=f"clientInfo.{key}")
    title = _optional(info, "title", str, "a string", "clientInfo")
    capabilities = raw.get("capabilities")
    if capabilities is None:
        capabilities = {}
    elif not isinstance(capabilities, dict):
        raise invalid_type(capabilities, "struct InitializeCapabilities", at="capabilities")
    experimental = _optional(capabilities, "experimentalApi", bool, "a boolean", "capabilities")
    opt_out = _optional(capabilities, "optOutNotificationMethods", list, "a sequence", "capabilities") or []
    for index, method in enumerate(opt_out):
        if not isinstance(method, str):
            raise invalid_type(method, "a string", at=f"capabilities.optOutNotificationMethods[{index}]")
    return InitializeParams(
        client_info=ClientInfo(name=info["name"], version=info["version"], title=title),
        experimental_api=bool(experimental),
        opt_out_notification_methods=frozenset(opt_out),
    )


def os_description() -> str:
    """`<OS> <version>` the way upstream's userAgent shows it, e.g. "Debian 12.0.0"."""
    system = platform.system()
    if system == "Linux":
        release = _os_release()
        name = release.get("NAME", "Linux").split()[0]
        version = release.get("VERSION_ID", "")
        parts = [*version.split("."), "0", "0"][:3] if version else []
        return f"{name} {'.'.join(parts)}".strip()
    if system == "Darwin":
        return f"Mac OS {platform.mac_ver()[0]}"
    return f"{system} {platform.release()}"


def _os_release() -> dict[str, str]:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value.strip().strip('"') for key, value in pairs}


def user_agent(client: ClientInfo) -> str:
    """Upstream's format: `<name>/<version> (<OS> <OS version>; <arch>) <TERM> (<name>; <client version>)`."""
    terminal = os.environ.get("TERM") or "unknown"
    return (
        f"{client.name}/{UPSTREAM_PROTOCOL_VERSION} ({os_description()}; {platform.machine()}) "
        f"{terminal} ({client.name}; {client.version})"
    )


def platform_fields() -> dict[str, str]:
    system = platform.system()
    family = "windows" if system == "Windows" else "unix"
    os_name = {"Darwin": "macos", "Windows": "windows"}.get(system, "linux")
    return {"platformFamily": family, "platformOs": os_name}


def initialize_result(params: InitializeParams, codex_home: Path) -> dict[str, Any]:
    """InitializeResponse, keys in upstream's order."""
    return {"userAgent": user_agent(params.client_info), "codexHome": str(codex_home), **platform_fields()}
