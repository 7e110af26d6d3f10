"""Integer params are checked like upstream's serde types, named by upstream's schema.

Upstream's generated schema gives each integer field of a params struct a format (uint32, int64, uint,
...); serde then refuses a string, a float or a bool with "invalid type: ..., expected u32" and a value out
of range with "invalid value: integer `N`, expected u32". A plain `int` field of ours accepted 2**32 for a
u32 page size and worded its refusals its own way (pydantic's, "Input should be greater than or equal to 0").
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import server.protocol
from server.protocol.base import WireModel

SERDE_NAMES = {"uint32": ("u32", 0, 2**32 - 1), "int64": ("i64", -(2**63), 2**63 - 1), "uint": ("usize", 0, 2**64 - 1)}
"""Schema format -> (serde's name, lowest, highest), for the formats our params models carry."""


def our_params_models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(server.protocol.__path__):
        module = importlib.import_module(f"server.protocol.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, WireModel) and value.__module__ == module.__name__:
                models[value.__name__] = value
    return models


def integer_fields(schema_dir: Path) -> list[tuple[str, str, str]]:
    """(params struct, wire field, format) for every integer field with a format in upstream's v2 schema."""
    schema = json.loads((schema_dir / "codex_app_server_protocol.v2.schemas.json").read_text())
    found = []
    for name, definition in (schema.get("definitions") or {}).items():
        if not name.endswith("Params") or not isinstance(definition, dict):
            continue
        for field, spec in (definition.get("properties") or {}).items():
            if isinstance(spec, dict) and spec.get("format") in SERDE_NAMES:
                found.append((name, field, spec["format"]))
    return found


def field_adapter(model: type[BaseModel], wire_name: str) -> TypeAdapter[Any] | None:
    for name, info in model.model_fields.items():
        if (info.alias or name) == wire_name:
            if not info.metadata:
                return TypeAdapter(info.annotation)
            return TypeAdapter(Annotated[info.annotation, *info.metadata])  # type: ignore[misc]
    return None


def refusal(adapter: TypeAdapter[Any], value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value, strict=True)
    return str(caught.value.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")


def test_every_integer_field_we_share_with_upstream_is_its_serde_type(schema_dir: Path) -> None:
    ours = our_params_models()
    checked = []
    for struct, field, schema_format in integer_fields(schema_dir):
        model = ours.get(struct)
        adapter = field_adapter(model, field) if model is not None else None
        if adapter is None:
            continue  # a method (or field) this server does not implement
        serde, low, high = SERDE_NAMES[schema_format]
        assert refusal(adapter, "5") == f'invalid type: string "5", expected {serde}', (struct, field)
        assert refusal(adapter, True) == f"invalid type: boolean `true`, expected {serde}", (struct, field)
        assert refusal(adapter, high + 1) == f"invalid value: integer `{high + 1}`, expected {serde}", (struct, field)
        assert refusal(adapter, low - 1) == f"invalid value: integer `{low - 1}`, expected {serde}", (struct, field)
        assert adapter.validate_python(high, strict=True) == high
        checked.append(f"{struct}.{field}")
    assert {"ThreadListParams.limit", "ModelListParams.limit", "CommandExecParams.timeoutMs"} <= set(checked)
