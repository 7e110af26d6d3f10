"""A command's captured output as the text upstream puts in a `command/exec` response.

UTF-8 passes through. Anything else is not replaced outright: upstream guesses the legacy encoding with
the chardetng detector (the same Rust crate, through its Python binding) and decodes with the WHATWG
Encoding Standard's decoders (https://encoding.spec.whatwg.org/), falling back to lossy UTF-8 when the
guess does not decode cleanly. So `caf\\xe9` reads "café", as a Latin-1 terminal would show it.
"""

from __future__ import annotations

import codecs

import chardetng_py

_PYTHON_CODEC = {
    # WHATWG names whose decoder is Python's codec of another name (the WHATWG index is its superset).
    "Shift_JIS": "cp932",
    "EUC-KR": "cp949",
    "gbk": "gb18030",
    "Big5": "big5hkscs",
    "ISO-8859-8-I": "iso8859-8",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_IBM866_ALSO_WINDOWS_1252 = frozenset(b"\x91\x92\x93\x94\x95\x96\x97\x99")
"""Windows-1252's smart punctuation, which chardetng may take for IBM866 Cyrillic in short ASCII text."""
_C1 = "c1-controls"


def _c1_controls(error: UnicodeError) -> tuple[str, int]:
    """WHATWG's windows-125x decoders map the bytes Python's codecs leave undefined to U+0080..U+009F."""
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(byte) for byte in error.object[error.start : error.end]), error.end


codecs.register_error(_C1, _c1_controls)


def _looks_like_windows_1252_punctuation(data: bytes) -> bool:
    """ASCII words around Windows-1252 quotes and dashes, and no other high byte (upstream's heuristic)."""
    saw_punctuation = saw_letter = False
    for byte in data:
        if byte >= 0xA0 or (0x80 <= byte <= 0x9F and byte not in _IBM866_ALSO_WINDOWS_1252):
            return False
        saw_punctuation |= byte >= 0x80
        saw_letter |= chr(byte).isascii() and chr(byte).isalpha()
    return saw_punctuation and saw_letter


def _encoding(data: bytes) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    guess = str(chardetng_py.detect(data, allow_utf8=True))
    if guess == "IBM866" and _looks_like_windows_1252_punctuation(data):
        return "windows-1252"
    return guess


def decode_output(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    name = _encoding(data)
    body = data
    for bom, bom_name in _BOMS:
        if name == bom_name and data.startswith(bom):
            body = data[len(bom) :]
    errors = _C1 if name.startswith("windows-125") else "strict"
    try:
        return body.decode(_PYTHON_CODEC.get(name, name), errors=errors)
    except (UnicodeDecodeError, LookupError):
        return data.decode("utf-8", errors="replace")
