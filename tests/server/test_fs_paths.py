"""Path validation and lexical normalization of fs/* path fields."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.protocol.base import params_parser
from server.protocol.errors import InvalidRequest
from server.protocol.fs import FsReadFileParams
from server.protocol.paths import is_within, normalize

parse = params_parser(FsReadFileParams, "struct FsReadFileParams")

path_text = st.lists(st.sampled_from(["/", "//", ".", "..", "a", "b c", "é", "\x00", "~", "x/"]), max_size=8).map(
    "".join
)


@given(path_text)
def test_a_path_is_accepted_exactly_when_absolute_and_free_of_nul(raw: str) -> None:
    if "\x00" in raw or not raw.startswith("/"):
        with pytest.raises(InvalidRequest) as excinfo:
            parse({"path": raw})
        expected = (
            "file name contained an unexpected NUL byte"
            if "\x00" in raw
            else "Invalid request: AbsolutePathBuf deserialized without a base path"
        )
        assert excinfo.value.message == expected
    else:
        params = parse({"path": raw})
        assert params is not None
        assert params.path == normalize(raw)


@given(path_text.map(lambda text: "/" + text.replace("\x00", "")))
def test_normalized_paths_are_absolute_canonical_and_stable(raw: str) -> None:
    path = normalize(raw)
    assert path.startswith("/")
    assert not path.startswith("//")
    assert path == "/" or not path.endswith("/")
    assert all(part not in {".", ".."} for part in path.split("/"))
    assert "//" not in path
    assert normalize(path) == path
    assert path == posixpath.normpath("/" + raw.lstrip("/"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/a/../b", "/b"), ("/..", "/"), ("/../../tmp", "/tmp"), ("//x//y/", "/x/y"), ("/a/./b/.", "/a/b")],
)
def test_normalization_examples_measured_on_upstream(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("value", [123, None, ["/a"], {"p": 1}, True])
def test_a_path_that_is_not_a_string_names_the_expected_type(value: object) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        parse({"path": value})
    assert excinfo.value.message.startswith("Invalid request: invalid type: ")
    assert excinfo.value.message.endswith(", expected path string")


def test_is_within_compares_whole_components() -> None:
    assert is_within("/a/b", "/a")
    assert is_within("/a", "/a")
    assert is_within("/x", "/")
    assert not is_within("/ab", "/a")
