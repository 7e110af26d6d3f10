"""Strict base64 with upstream's error messages; the table was recorded from upstream 0.163's fs/writeFile."""

from __future__ import annotations

import base64
import binascii
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.fs.encoding import Base64Error, decode, encode
from server.rpc import RawJson, encode_raw_result, encode_result

UPSTREAM_MESSAGES = [
    ("!!!notb64", "Invalid symbol 33, offset 0."),
    ("-_8=", "Invalid symbol 45, offset 0."),
    ("aGk", "Invalid padding"),
    ("aGk=aGk=", "Invalid symbol 61, offset 3."),
    ("aGj=", "Invalid last symbol 106, offset 2."),
    ("aG==", "Invalid last symbol 71, offset 1."),
    ("YR==", "Invalid last symbol 82, offset 1."),
    ("a===", "Invalid symbol 61, offset 1."),
    ("a", "Invalid input length: 1"),
    ("aGVsa", "Invalid input length: 5"),
    ("/gwgQ", "Invalid input length: 5"),
    ("aGk==", "Invalid symbol 61, offset 3."),
    ("aG k=", "Invalid symbol 32, offset 2."),
    ("aGk=\n", "Invalid symbol 10, offset 4."),
    ("aGk=\r\n", "Invalid symbol 61, offset 3."),
    ("aGVsbA==\n", "Invalid symbol 10, offset 8."),
    ("é", "Invalid symbol 195, offset 0."),
    ("=éé", "Invalid symbol 169, offset 4."),
    ("=w+w!=Aé", "Invalid symbol 169, offset 8."),
    ("\n/éQ/\n+w+g\n\n", "Invalid symbol 10, offset 12."),
    ("aGVsbG8", "Invalid padding"),
    ("aGVsbA=", "Invalid padding"),
    ("aGVsbA=a", "Invalid symbol 61, offset 6."),
    ("aGVsbG8=x", "Invalid symbol 61, offset 7."),
    ("aGVs=G8=", "Invalid symbol 61, offset 4."),
    ("=", "Invalid symbol 61, offset 0."),
    ("====", "Invalid symbol 61, offset 0."),
    ("YQ==YQ==", "Invalid symbol 61, offset 2."),
    ("Q=!", "Invalid symbol 61, offset 1."),
    ("gA! w//Aw=", "Invalid symbol 33, offset 2."),
    ("+A+\n!!A=+\n ", "Invalid symbol 10, offset 3."),
    ("aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQ!aGVs", "Invalid symbol 33, offset 47."),
    ("A" * 55 + "=" + "A" * 11, "Invalid symbol 61, offset 55."),
]


@pytest.mark.parametrize(("text", "message"), UPSTREAM_MESSAGES)
def test_invalid_input_is_described_like_upstream(text: str, message: str) -> None:
    with pytest.raises(Base64Error) as excinfo:
        decode(text)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(("text", "data"), [("", b""), ("YWI=", b"ab"), ("YWJj", b"abc"), ("aGVsbA==", b"hell")])
def test_canonical_input_decodes(text: str, data: bytes) -> None:
    assert decode(text) == data


@given(st.binary(max_size=2048))
def test_encode_then_decode_round_trips(data: bytes) -> None:
    text = encode(data)
    assert text == base64.b64encode(data)
    assert decode(text.decode()) == data


def is_canonical(text: str) -> bool:
    try:
        return base64.b64encode(binascii.a2b_base64(text.encode(), strict_mode=True)).decode() == text
    except binascii.Error:
        return False


@given(st.text(alphabet="AQgw+/=\n é!-_", max_size=24))
def test_decode_accepts_exactly_the_canonical_encodings(text: str) -> None:
    if is_canonical(text):
        assert base64.b64encode(decode(text)).decode() == text
    else:
        with pytest.raises(Base64Error, match=r"^Invalid "):
            decode(text)


def test_a_raw_json_result_is_spliced_into_the_same_response_json_dumps_would_give() -> None:
    """fs/readFile hands the core its result as raw JSON pieces (server.rpc.RawJson) to skip re-escaping
    and re-copying megabytes."""
    text = encode(bytes(range(256)))
    for request_id in (7, "str-id", -1):
        raw = encode_raw_result(request_id, RawJson((b'{"dataBase64":"', text, b'"}')))
        assert raw == encode_result(request_id, {"dataBase64": text.decode()}).encode()
        assert json.loads(raw) == {"id": request_id, "result": {"dataBase64": text.decode()}}
