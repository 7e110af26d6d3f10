"""Where a key's value sits in a TOML file, so an error names the file line and columns as upstream does.

Neither tomllib nor tomlkit keeps source positions, so this re-reads the text the simple way: table
headers and `key = value` lines. Positions are 1-based; the end column is the value's last character.
Multi-line values and inline tables are located by their first line, which is all an error message needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BARE_OR_QUOTED = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
DOTTED_KEY = rf"{BARE_OR_QUOTED}(?:\s*\.\s*{BARE_OR_QUOTED})*"
HEADER = re.compile(rf"^\s*\[\[?\s*(?P<key>{DOTTED_KEY})\s*\]\]?")
ASSIGNMENT = re.compile(rf"^\s*(?P<key>{DOTTED_KEY})\s*=\s*")
SEGMENT = re.compile(BARE_OR_QUOTED)
VALUE_END = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s#,\]}]+')


@dataclass(frozen=True)
class Span:
    line: int
    start: int
    end: int


def split_key(text: str) -> tuple[str, ...]:
    return tuple(segment.strip("\"'") for segment in SEGMENT.findall(text))


def locate(text: str, key: tuple[str, ...]) -> Span | None:
    """The span of `key`'s value, or None when it is not written as a plain assignment."""
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            table = split_key(header.group("key"))
            continue
        assignment = ASSIGNMENT.match(line)
        if not assignment or (*table, *split_key(assignment.group("key"))) != key:
            continue
        offset = assignment.end()
        value = VALUE_END.match(line, offset)
        length = len(value.group(0)) if value else 1
        return Span(number, offset + 1, offset + length)
    return None
