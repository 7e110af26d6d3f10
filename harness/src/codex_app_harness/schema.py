"""Check messages against the JSON schema the upstream binary generates.

The schema directory holds one file per type (top level, `v1/`, `v2/`), each self-contained. We index the
request and notification unions once: method -> params type, and for requests the response type named by
upstream's convention (`FooParams` -> `FooResponse`). A message whose type the schema does not describe is
reported as such, never silently passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from codex_app_harness.client import HarnessError


class SchemaMismatch(HarnessError, AssertionError):
    """A message the server sent does not conform to the upstream schema."""


class UpstreamSchema:
    def __init__(self, directory: Path, *, extensions: Iterable[str] = ()) -> None:
        self.directory = directory
        self.extensions = frozenset(extensions)
        """Notification methods we send that upstream 0.163 does not have (accepted unvalidated)."""
        self.response_types = self._index("ClientRequest.json", response=True)
        self.notification_types = self._index("ServerNotification.json")
        self.server_request_types = self._index("ServerRequest.json")

    def _index(self, union_file: str, *, response: bool = False) -> dict[str, str]:
        union = json.loads((self.directory / union_file).read_text())
        index: dict[str, str] = {}
        for branch in union["oneOf"]:
            method = branch["properties"]["method"]["enum"][0]
            params = branch["properties"].get("params", {})
            # Optional params are `anyOf: [{$ref}, {type: null}]`; the named type is the response's stem.
            refs = [params.get("$ref", "")] + [choice.get("$ref", "") for choice in params.get("anyOf", [])]
            ref = next((found for found in refs if found), "")
            name = ref.rsplit("/", 1)[-1]
            if response and name.endswith("Params"):
                name = name.removesuffix("Params") + "Response"
            if name and self._file(name) is not None:
                index[method] = name
        return index

    def _file(self, name: str) -> Path | None:
        for folder in ("", "v2", "v1"):
            path = self.directory / folder / f"{name}.json"
            if path.is_file():
                return path
        return None

    @cache  # noqa: B019 - one schema object per session; the cache is the point
    def _validator(self, name: str) -> Draft7Validator:
        path = self._file(name)
        assert path is not None
        return Draft7Validator(json.loads(path.read_text()))

    def _check(self, name: str, instance: Any, what: str) -> None:
        errors = sorted(self._validator(name).iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            location = "/".join(str(part) for part in first.path) or "(root)"
            raise SchemaMismatch(
                f"{what} does not match upstream {name} at {location}: {first.message}\n"
                f"message: {json.dumps(instance)[:1000]}"
            )

    def check(self, type_name: str, instance: Any) -> None:
        """Validate `instance` against the schema type `type_name` (for responses of methods whose params
        type is null, which the method index cannot name)."""
        if self._file(type_name) is None:
            raise SchemaMismatch(f"{type_name} is not in the upstream schema")
        self._check(type_name, instance, type_name)

    def check_response(self, method: str, result: Any) -> bool:
        """Validate a result; False when the schema has no response type for `method`."""
        name = self.response_types.get(method)
        if name is None:
            return False
        self._check(name, result, f"response to {method}")
        return True

    def check_notification(self, method: str, params: Any) -> None:
        name = self.notification_types.get(method)
        if name is None:
            if method in self.extensions:
                return
            raise SchemaMismatch(f"notification {method} is not in the upstream schema")
        self._check(name, params, f"notification {method}")

    def validator(self) -> Any:
        """A harness validator callable: (kind, message) -> None, raising SchemaMismatch."""

        def validate(kind: str, message: dict[str, Any]) -> None:
            if kind == "notification":
                self.check_notification(message["method"], message.get("params"))
            elif kind.startswith("response:"):
                method = kind.removeprefix("response:")
                if method == "initialize":
                    self._check("InitializeResponse", message.get("result"), "response to initialize")
                else:
                    self.check_response(method, message.get("result"))

        return validate
