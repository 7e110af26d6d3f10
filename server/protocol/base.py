"""Base classes for wire models and the bridge from pydantic validation errors to upstream's messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from server.protocol.errors import InvalidRequest, describe_value, invalid_params, missing_field
from server.protocol.plain import U32_MAX


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields ignored (upstream accepts them)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent to clients. Absent optionals are explicit nulls, as upstream sends them."""
        return self.model_dump(mode="json", by_alias=True)


VERBATIM = "rpc_verbatim"
"""Error type for validators whose message upstream sends without the "Invalid request: " prefix."""


def verbatim_error(message: str) -> PydanticCustomError:
    return PydanticCustomError(VERBATIM, message)


def _check_absolute(value: str) -> str:
    if "\x00" in value:
        raise verbatim_error("file name contained an unexpected NUL byte")
    if not value.startswith("/"):
        raise ValueError("AbsolutePathBuf deserialized without a base path")
    return value


AbsolutePath = Annotated[str, AfterValidator(_check_absolute)]
"""An absolute path string, checked like upstream's AbsolutePathBuf (relative, empty and `~` paths fail)."""


def serde_integer(name: str, low: int, high: int) -> Any:
    """An integer field checked like serde's `name` (u16, u32, i64, usize): upstream's wording for a wrong
    type ("invalid type: string \"5\", expected u32") and for a value out of range."""

    def check(value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"invalid type: {describe_value(value)}, expected {name}")
        if not low <= value <= high:
            raise ValueError(f"invalid value: integer `{value}`, expected {name}")
        return value

    return BeforeValidator(check)


U16 = Annotated[int, serde_integer("u16", 0, 2**16 - 1)]
U32 = Annotated[int, serde_integer("u32", 0, U32_MAX)]
I64 = Annotated[int, serde_integer("i64", -(2**63), 2**63 - 1)]
USIZE = Annotated[int, serde_integer("usize", 0, 2**64 - 1)]

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "a boolean",
    "list_type": "a sequence",
    "dict_type": "a map",
    "model_type": "a map",
    "model_attributes_type": "a map",
    "float_type": "a number",
}


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def translate(error: ValidationError) -> InvalidRequest:
    """The first pydantic error, worded like upstream's serde errors and naming the field."""
    first = error.errors(include_url=False)[0]
    kind, loc, value = first["type"], tuple(first["loc"]), first.get("input")
    if kind == VERBATIM:
        return InvalidRequest(first["msg"])
    if kind == "missing":
        return missing_field(str(loc[-1]))
    if kind in {"union_tag_invalid", "literal_error"}:
        expected = first.get("ctx", {}).get("expected_tags") or first.get("ctx", {}).get("expected", "")
        names = [tag.strip().strip(chr(39)) for tag in str(expected).replace(" or ", ",").split(",") if tag.strip()]
        if kind == "union_tag_invalid":
            value = first.get("ctx", {}).get("tag", value)  # the input is the whole object; name its tag
        if len(names) == 2:  # serde words two variants as "`a` or `b`", more as "one of `a`, `b`, `c`"
            return invalid_params(f"unknown variant `{value}`, expected `{names[0]}` or `{names[1]}`")
        tags = ", ".join(f"`{name}`" for name in names)
        return invalid_params(f"unknown variant `{value}`, expected one of {tags}")
    if kind == "union_tag_not_found":
        return missing_field(str(first.get("ctx", {}).get("discriminator", "type")).strip("'"))
    if kind in _EXPECTED:
        at = f" at `{_dotted(loc)}`" if loc else ""
        return invalid_params(f"invalid type: {describe_value(value)}, expected {_EXPECTED[kind]}{at}")
    message = first["msg"].removeprefix("Value error, ")
    at = f" at `{_dotted(loc)}`" if loc else ""
    return invalid_params(f"{message}{at}")


Model = TypeVar("Model", bound=BaseModel)


class UnitParams(BaseModel):
    """The params of a method whose upstream params type is `null` (serde's unit).

    Upstream accepts an absent or null `params` and an empty object; anything else is refused with serde's
    "invalid type: ..., expected unit".
    """


def _parse_unit(raw: Any) -> None:
    if raw is None or raw == {}:
        return None
    raise invalid_params(f"invalid type: {describe_value(raw)}, expected unit")


def upstream_params_type(method: str, model: type[BaseModel]) -> str:
    """Serde's name of `method`'s params type in upstream's schema; a method absent from upstream's v2
    schema (the legacy getAuthStatus) shares its params model's name."""
    from server.protocol.upstream_methods import UPSTREAM_PARAMS_TYPES

    return UPSTREAM_PARAMS_TYPES.get(method, f"struct {model.__name__}")


def params_parser(model: type[Model], upstream_type: str) -> Callable[[Any], Model | None]:
    """A method table parser for `model`.

    Upstream accepts a positional array for struct params (serde's struct-from-sequence), so we do too.
    `UnitParams` takes only null or `{}`, as serde's unit does; a model with `PARAMS_OPTIONAL = True` (upstream's
    `Option<Params>`) also takes null and gives None. Params that are neither an object nor an array are
    refused naming `upstream_type`, serde's name of upstream's params type ("struct ThreadStartParams", from
    upstream's generated schema), since our models are sometimes shared or named otherwise.
    """

    if model is UnitParams:
        return _parse_unit

    fields = [info.alias or name for name, info in model.model_fields.items()]

    optional = bool(getattr(model, "PARAMS_OPTIONAL", False))

    def parse(raw: Any) -> Model | None:
        if raw is None:
            if optional:
                return None
            raise missing_field("params")
        if isinstance(raw, list):
            raw = dict(zip(fields, raw, strict=False))
        elif not isinstance(raw, dict):
            raise invalid_params(f"invalid type: {describe_value(raw)}, expected {upstream_type}")
        try:
            return model.model_validate(raw, strict=True)  # like serde: "5" is no number, "yes" no boolean
        except ValidationError as exc:
            raise translate(exc) from None

    return parse
