"""What a waiter wants from a message's params, and how far a buffered message is from it.

Matching is on the params payload only: the method picks the buffer, then every field condition and the
optional predicate must hold. Field keys are dotted paths ("item.type", "changes.0.path"); a field value is
compared with `==`, or called with the value found when it is callable. Keeping the conditions as data
(rather than one opaque lambda) is what lets a timeout say *which* condition the closest candidate missed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

MISSING: Any = type("Missing", (), {"__repr__": lambda _self: "<missing>"})()
"""What `lookup` returns for a path that is not there (distinct from a present `null`)."""


def lookup(payload: Any, dotted: str | tuple[str, ...]) -> Any:
    """`payload["a"]["b"]` for "a.b"; list elements by index ("items.0.id", "items.-1"); MISSING if absent."""
    current = payload
    for part in dotted.split(".") if isinstance(dotted, str) else dotted:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and _is_index(part) and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def conditions(match: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """One table of field conditions from `match={...}` and keyword fields.

    `match` exists so that any field can be matched, including ones named like the call's own parameters
    (`timeout`, `where`, `method`, `match`); keywords are the short form for the rest. Naming one field in
    both is ambiguous and refused."""
    if not match:
        return dict(fields)
    both = sorted(set(match) & set(fields))
    if both:
        raise TypeError(f"field(s) {', '.join(both)} given both in match= and as keywords")
    return {**match, **fields}


def _is_index(part: str) -> bool:
    return part.removeprefix("-").isdigit()


def _name(function: Callable[..., Any]) -> str:
    return getattr(function, "__name__", type(function).__name__)


@dataclass(frozen=True)
class Matcher:
    """A method plus field conditions (dotted paths) and an optional predicate over the whole params."""

    method: str
    fields: Mapping[str, Any]
    where: Predicate | None = None
    _paths: tuple[tuple[tuple[str, ...], Any], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Split once: a wait may test every buffered notification, and on each arrival.
        object.__setattr__(self, "_paths", tuple((tuple(k.split(".")), v) for k, v in self.fields.items()))

    def matches(self, params: dict[str, Any]) -> bool:
        """Whether params satisfy every condition (the caller has already checked the method)."""
        for path, wanted in self._paths:
            if not _field_holds(lookup(params, path), wanted):
                return False
        return self.where is None or _predicate_holds(self.where, params)

    def misses(self, params: dict[str, Any]) -> list[str]:
        """One line per unmet condition, in words a failing test can act on."""
        missed = []
        for key, wanted in self.fields.items():
            found = lookup(params, key)
            if not _field_holds(found, wanted):
                want = f"{_name(wanted)}(value)" if callable(wanted) else repr(wanted)
                missed.append(f"{key} is {found!r}, wanted {want}")
        if self.where is not None:
            try:
                if not self.where(params):
                    missed.append(f"where={_name(self.where)} returned false")
            except Exception as exc:
                missed.append(f"where={_name(self.where)} raised {exc!r}")
        return missed

    def closest(self, candidates: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], list[str]] | None:
        """The candidate missing the fewest conditions (the latest among equals), with what it missed."""
        best: tuple[dict[str, Any], list[str]] | None = None
        for params in candidates:
            missed = self.misses(params)
            if best is None or len(missed) <= len(best[1]):
                best = (params, missed)
        return best

    def describe(self) -> str:
        parts = [f"{key}={_name(v) if callable(v) else repr(v)}" for key, v in self.fields.items()]
        if self.where is not None:
            parts.append(f"where={_name(self.where)}")
        return f"{self.method}({', '.join(parts)})"


def _field_holds(found: Any, wanted: Any) -> bool:
    if found is MISSING:
        return wanted is MISSING
    if callable(wanted):
        return _predicate_holds(wanted, found)
    return bool(found == wanted)


def _predicate_holds(predicate: Callable[[Any], Any], value: Any) -> bool:
    """A predicate that raises on a payload of another shape (KeyError, TypeError) simply does not match:
    notifications of one method vary in shape, and a waiter must not crash on the ones it does not want."""
    try:
        return bool(predicate(value))
    except Exception:
        return False
