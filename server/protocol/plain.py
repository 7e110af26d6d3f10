"""Params parsed without pydantic when they are plainly valid, by the pydantic model otherwise.

Methods a client calls first (a search, config/read) must not wait ~140 ms for pydantic and its models
before they can be answered. A `plain_parser` takes params that are an object holding only known fields,
each of the exact JSON type its check accepts, and builds the handler's dataclass from them directly;
anything else (a missing or mistyped field, a positional array, a snake_case spelling, which pydantic
also accepts) goes to the pydantic model, imported then, so every rejection keeps the model's wording.
Each use has a property test that the two agree (tests/server/test_plain_params.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

P = TypeVar("P")
Check = Callable[[Any], bool]


def is_str(value: Any) -> bool:
    return type(value) is str


def is_bool(value: Any) -> bool:
    return type(value) is bool


U32_MAX = 2**32 - 1
"""serde's u32 bound, here so the plain parsers need not import pydantic for it (server.protocol.base's U32
uses it too)."""


def is_u32(value: Any) -> bool:
    """serde's u32 (a bool is not one); anything else is left to the model, which words its rejection."""
    return type(value) is int and 0 <= value <= U32_MAX


def is_str_or_null(value: Any) -> bool:
    return value is None or type(value) is str


def or_null(check: Check) -> Check:
    """`check`, and null besides (an optional field upstream declares nullable)."""
    return lambda value: value is None or check(value)


def is_str_list(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _snake(wire: str) -> str:
    return "".join("_" + char.lower() if char.isupper() else char for char in wire)


def plain_parser(
    method: str, light: type[P], model: str, required: dict[str, Check], optional: dict[str, Check] | None = None
) -> Callable[[Any], P]:
    """`method`'s params parser, returning `light` (a dataclass whose fields are the snake_case wire names).

    `model` is "module:Class" of the pydantic model that parses (and words the errors of) anything
    else; `required` and `optional` map wire names to the check a present value must pass (an optional
    field's check says whether null is allowed).
    """
    checks = {**required, **(optional or {})}
    names = {wire: _snake(wire) for wire in checks}

    def parse(raw: Any) -> P:
        if (
            type(raw) is dict
            and raw.keys() >= required.keys()
            and raw.keys() <= checks.keys()
            and all(checks[wire](value) for wire, value in raw.items())
        ):
            return light(**{names[wire]: value for wire, value in raw.items()})
        params = _model_parser(method, model)(raw)
        assert params is not None  # a model's parser never answers None
        return light(**params.model_dump())

    return parse


@cache
def _model_parser(method: str, path: str) -> Callable[[Any], BaseModel | None]:
    import importlib

    from server.protocol.base import params_parser, upstream_params_type

    module, _, name = path.partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), name)
    return params_parser(model, upstream_params_type(method, model))
