"""fs/getMetadata's params parser without pydantic takes what the pydantic model takes, as the model
would, and leaves every rejection to the model."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.protocol.base import params_parser, upstream_params_type
from server.protocol.errors import InvalidRequest
from server.protocol.fs import FsGetMetadataParams
from server.protocol.fs_metadata import GetMetadataParams, parse_params

MODEL = params_parser(FsGetMetadataParams, upstream_params_type("fs/getMetadata", FsGetMetadataParams))

paths = st.one_of(
    st.text(alphabet="/.a\x00~ b", max_size=12),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)
raws = st.one_of(
    st.fixed_dictionaries({"path": paths}),
    st.fixed_dictionaries({"path": paths}, optional={"extra": st.integers(), "recursive": st.booleans()}),
    st.lists(paths, max_size=2),
    st.dictionaries(st.sampled_from(["path", "Path", "other"]), paths, max_size=2),
    st.none(),
)


def _model_outcome(raw: Any) -> GetMetadataParams | str:
    try:
        params = MODEL(raw)
    except InvalidRequest as exc:
        return f"{exc.code}: {exc}"
    assert params is not None
    return GetMetadataParams(params.path)


def _light_outcome(raw: Any) -> GetMetadataParams | str:
    try:
        return parse_params(raw)
    except InvalidRequest as exc:
        return f"{exc.code}: {exc}"


@given(raws)
def test_the_light_parser_agrees_with_the_model(raw: Any) -> None:
    assert _light_outcome(raw) == _model_outcome(raw)


@pytest.mark.parametrize("path", ["/", "/tmp/../etc", "//x//y/", "/a/./b"])
def test_plain_paths_are_normalized_as_the_model_does(path: str) -> None:
    assert parse_params({"path": path}) == _model_outcome({"path": path})
