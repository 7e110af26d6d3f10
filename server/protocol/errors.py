"""Error vocabulary shared by every layer.

Codes follow upstream 0.163 as measured (protocol notes, section 1): upstream answers unknown methods and bad
params with -32600 (not JSON-RPC's -32601/-32602) because it deserializes the whole request as one tagged enum;
clients match on those codes, so we do the same. Messages imitate serde's wording ("missing field `x`") so
a client that shows them to a user reads the same text from either server.
"""

from __future__ import annotations

import json
from typing import Any

INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603
SERVER_OVERLOADED = -32001
"""Upstream's code for "too much in flight"; the message is upstream's too."""


class RpcError(Exception):
    """An error that becomes a JSON-RPC error object; raised anywhere, converted in one place (server.rpc)."""

    code: int = INTERNAL_ERROR

    def __init__(self, message: str, *, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data

    def to_wire(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class InternalError(RpcError):
    code = INTERNAL_ERROR


class ServerOverloaded(RpcError):
    code = SERVER_OVERLOADED

    def __init__(self) -> None:
        super().__init__("Server overloaded; retry later.")


def invalid_params(detail: str) -> InvalidRequest:
    """A params error, prefixed the way upstream prefixes deserialization failures."""
    return InvalidRequest(f"Invalid request: {detail}")


def missing_field(name: str) -> InvalidRequest:
    return invalid_params(f"missing field `{name}`")


def describe_value(value: Any) -> str:
    """serde's description of an unexpected JSON value, e.g. "integer `123`" or 'string "x"'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, list):
        return "sequence"
    return "map"


def invalid_type(value: Any, expected: str, *, at: str | None = None) -> InvalidRequest:
    where = f" at `{at}`" if at else ""
    return invalid_params(f"invalid type: {describe_value(value)}, expected {expected}{where}")


def wire_error(exc: BaseException) -> RpcError:
    """The JSON-RPC error a handler's exception becomes: the one place they are translated (server.rpc).

    Domain errors are RpcErrors and carry their code and message; an OSError is the OS refusing what the
    request asked, reported in upstream's wording; anything else is a bug of ours and says only its type.
    """
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, OSError):
        return os_error(exc)
    return InternalError(f"internal error: {type(exc).__name__}")


def os_error(exc: OSError) -> InternalError:
    """An OS error worded like upstream's (Rust io::Error Display): "No such file or directory (os error 2)"."""
    if exc.errno is None:
        return InternalError(str(exc))
    return InternalError(f"{exc.strerror} (os error {exc.errno})")
