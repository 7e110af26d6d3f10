"""The method table: each method is registered exactly once, with its params model and handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from server.rpc import Handler, MethodSpec

if TYPE_CHECKING:
    from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class Table:
    """name -> MethodSpec, in registration order (that order is the one unknown-method errors list)."""

    def __init__(self) -> None:
        self._specs: dict[str, MethodSpec] = {}

    def add(self, spec: MethodSpec) -> None:
        if spec.name in self._specs or spec.name == "initialize":
            raise ValueError(f"method {spec.name!r} registered twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> MethodSpec | None:
        return self._specs.get(name)

    def names(self) -> Iterator[str]:
        return iter(self._specs)


TABLE = Table()


def method(
    name: str, params: type[BaseModel] | Callable[[Any], Any], *, experimental: bool = False
) -> Callable[[F], F]:
    """Register the decorated coroutine as the handler of `name`.

    `params` is the pydantic model of the params, or a parser of its own (raw params in, the handler's
    argument out, InvalidRequest raised): a method a client calls first can then be answered before
    pydantic is imported (server.protocol.fs_metadata). The handler receives `(session, params)`; it
    returns a WireModel, a JSON-ready value, or None for `{}`.
    """

    def register(handler: F) -> F:
        spec_handler: Handler = handler
        if isinstance(params, type):
            from server.protocol.base import params_parser, upstream_params_type

            parse: Callable[[Any], Any] = params_parser(params, upstream_params_type(name, params))
        else:
            parse = params
        TABLE.add(MethodSpec(name, parse, spec_handler, experimental))
        return handler

    return register
