"""Fixtures shared by the release tests."""

from __future__ import annotations

import pytest

from release.zsh.shared import HostBuild, ensure_host_build


@pytest.fixture(scope="session")
def host_zsh() -> HostBuild:
    """The patched zsh built for this machine and packaged: built at most once per test run and reused
    across runs while its inputs are unchanged (see `release.zsh.shared`)."""
    return ensure_host_build()
