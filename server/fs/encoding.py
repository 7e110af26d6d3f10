"""Strict standard base64 (with padding), failing with the messages upstream's Rust `base64` crate gives.

Clients show these messages and some match on them, so invalid input is described exactly as upstream
does ("Invalid symbol 33, offset 0.", "Invalid padding", ...). Valid input takes the fast path: pybase64
(SIMD; the stdlib's binascii encodes ~300 MB/s, which made base64 the largest cost of a 1 MiB read) with
validation, then a re-encode to reject what it accepts but the crate does not (non-canonical trailing
bits). Only invalid input walks the bytes in Python to find what to report.
"""

from __future__ import annotations

import binascii
import re

import pybase64

PAD = ord("=")
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {byte: index for index, byte in enumerate(_ALPHABET)}
_NOT_ALPHABET = re.compile(rb"[^A-Za-z0-9+/]")


class Base64Error(ValueError):
    """Input that is not canonical standard base64; the message is upstream's wording."""


def encode(data: bytes) -> bytes:
    """The base64 text of `data` as ASCII bytes: what goes on the wire, with no str in between."""
    return pybase64.b64encode(data)


def decode(text: str) -> bytes:
    """The bytes `text` encodes; raises Base64Error unless it is canonical, padded, standard base64."""
    data = text.encode("utf-8", errors="surrogatepass")
    try:
        decoded = pybase64.b64decode(data, validate=True)
    except binascii.Error:
        raise Base64Error(describe_invalid(data)) from None
    if not _canonical(data, decoded):
        raise Base64Error(describe_invalid(data))
    return decoded


def _canonical(data: bytes, decoded: bytes) -> bool:
    """Whether `data` is exactly what encoding `decoded` gives, without re-encoding all of it.

    Given that every byte is in the alphabet or padding (the decoder validated that), a text of the
    right length with padding only in its last two places differs from the canonical encoding at most in
    the unused low bits of its last quad, so only that quad is re-encoded.
    """
    if len(data) != 4 * -(-len(decoded) // 3) or data.find(b"=", 0, max(len(data) - 2, 0)) >= 0:
        return False
    tail = len(decoded) % 3 or 3
    return not decoded or pybase64.b64encode(decoded[-tail:]) == data[-4:]


def _invalid_byte(offset: int, byte: int) -> str:
    return f"Invalid symbol {byte}, offset {offset}."


def describe_invalid(data: bytes) -> str:
    """Why `data` is rejected, found the way the `base64` crate (0.22, STANDARD engine) finds it.

    The crate checks, in order: a lone trailing byte outside the alphabet; every byte before the last
    (possibly padded) quad; then that quad: padding position, length, canonical padding, trailing bits.
    """
    remainder = len(data) % 4
    if remainder == 1 and data[-1] != PAD and data[-1] not in _VALUE:
        return _invalid_byte(len(data) - 1, data[-1])
    body_end = max(0, len(data) - remainder - (4 if remainder == 0 else 0))
    bad = _NOT_ALPHABET.search(data, 0, body_end)
    if bad is not None:
        return _invalid_byte(bad.start(), data[bad.start()])

    morsels: list[int] = []
    pads = 0
    first_pad = 0
    last_symbol = 0
    for index, byte in enumerate(data[body_end:]):
        if byte == PAD:
            if index < 2:
                return _invalid_byte(body_end + index, byte)
            if pads == 0:
                first_pad = index
            pads += 1
            continue
        if pads:
            return _invalid_byte(body_end + first_pad, PAD)
        last_symbol = byte
        if byte not in _VALUE:
            return _invalid_byte(body_end + index, byte)
        morsels.append(_VALUE[byte])

    if data and len(morsels) < 2:
        return f"Invalid input length: {body_end + len(morsels)}"
    if (pads + len(morsels)) % 4:
        return "Invalid padding"
    bits = 0
    for morsel in morsels:
        bits = (bits << 6) | morsel
    unused_bits = len(morsels) * 6 % 8
    if bits & ((1 << unused_bits) - 1):
        return f"Invalid last symbol {last_symbol}, offset {body_end + len(morsels) - 1}."
    return "Invalid padding"
