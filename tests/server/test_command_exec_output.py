"""How a command's non-UTF-8 output becomes response text: upstream's detection, on upstream's own cases
(codex-rs text_encoding tests) and the bytes we measured on the 0.163 binary."""

from __future__ import annotations

import pytest

from server.command_exec.output import decode_output


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("Hello, мир! 世界".encode(), "Hello, мир! 世界"),
        (b"\xef\xf0\xe8\xec\xe5\xf0", "пример"),  # Windows-1251
        (b"\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"),  # Windows-1251, not mistaken for Windows-1252
        (b"\xaf\xe0\xa8\xac\xa5\xe0", "пример"),  # IBM866
        (b"\x8f\x90\x88 test", "ПРИ test"),  # IBM866 capitals beside ASCII stay Cyrillic
        (b"\x93\x94test", "\u201c\u201dtest"),  # Windows-1252 quotes, which chardetng calls IBM866
        (b"\x93foo\x94 \x96 \x93bar\x94", "\u201cfoo\u201d \u2013 \u201cbar\u201d"),
        (b"caf\xe9", "café"),
        (b"\x1b[31mred\x1b[0m", "\x1b[31mred\x1b[0m"),
        (b"\xff\xfe\xfd", "\ufffd\ufffd\ufffd"),  # a UTF-16 byte-order mark, then an odd byte: lossy UTF-8
        (b"caf\xc3", "cafĂ"),  # measured on upstream: chardetng guesses Windows-1250
        (b"caf\xc3\xa9 \xff", "cafÃ© ÿ"),  # measured on upstream: Windows-1252
        (b"\x81abc\x8d", "\x81abc\x8d"),  # measured: bytes Windows-1252 leaves undefined are C1 controls
    ],
)
def test_output_is_decoded_as_upstream_decodes_it(data: bytes, text: str) -> None:
    assert decode_output(data) == text
