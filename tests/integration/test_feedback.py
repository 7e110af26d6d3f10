"""feedback/upload params, checked before anything is sent, on both servers.

Upstream posts to a fixed Sentry host, so its upload itself needs the network and is not run here; the
upload of ours against a loopback Sentry stand-in is pinned in tests/server/test_feedback_upload.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from codex_app_harness import RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (None, "Invalid request: missing field `params`"),
        ({}, "Invalid request: missing field `classification`"),
        ({"reason": "r"}, "Invalid request: missing field `classification`"),
        ({"classification": 1}, "Invalid request: invalid type: integer `1`, expected a string"),
        (
            {"classification": "bug", "includeLogs": "x"},
            'Invalid request: invalid type: string "x", expected a boolean',
        ),
        ({"classification": "bug", "tags": {"k": 1}}, "Invalid request: invalid type: integer `1`, expected a string"),
        (
            {"classification": "bug", "extraLogFiles": "f"},
            'Invalid request: invalid type: string "f", expected a sequence',
        ),
    ],
)
def test_params_of_the_wrong_shape_are_invalid_requests(
    app_server_factory: AppServerFactory, params: Any, message: str
) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request("feedback/upload", params)
    assert excinfo.value.code == -32600
    assert excinfo.value.message.startswith(message)


def test_a_thread_id_that_is_not_a_uuid_is_refused_before_uploading(app_server_factory: AppServerFactory) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server_factory().request("feedback/upload", {"classification": "bug", "threadId": "nope"})
    assert (excinfo.value.code, excinfo.value.message) == (
        -32600,
        "invalid thread id: invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], "
        "found `n` at 1",
    )
