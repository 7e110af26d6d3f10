"""A compact JSON-RPC 2.0 app-server, wire-compatible with the upstream codex app-server 0.163."""

UPSTREAM_PROTOCOL_VERSION = "0.163.0"
"""The upstream release whose wire protocol we speak; reported in userAgent so clients gate features right."""
