"""Fixtures shared across suites: the Responses API stand-in, and the real patched zsh (release tests, and
the server's exec bridge)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixtures.responses_api import ResponsesApiStub
from release.zsh.shared import HostBuild, ensure_host_build


@pytest.fixture
def model() -> Iterator[ResponsesApiStub]:
    """A scripted Responses API on loopback that both servers reach through `model.config_toml()`."""
    with ResponsesApiStub() as stub:
        yield stub


@pytest.fixture(scope="session")
def host_zsh() -> HostBuild:
    """The patched zsh built for this machine and packaged: built at most once per test run and reused
    across runs while its inputs are unchanged (see `release.zsh.shared`)."""
    return ensure_host_build()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Schedule tests that need the real zsh build last (stable sort, same order in every xdist worker).

    The first of them may wait minutes for a cold build behind the shared lock; run last, that wait
    overlaps nothing else, and every other test has already finished on all workers.
    """
    items.sort(key=lambda item: "host_zsh" in getattr(item, "fixturenames", ()))
