"""Fixtures the server unit tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / ".cache" / "upstream-schema" / "experimental"


@pytest.fixture
def schema_dir(upstream_schema: Any) -> Path:
    """The schema the run validates against (`--app-server-schema`), else the one `nox -s tests` generates."""
    directory: Path = upstream_schema.directory if upstream_schema is not None else DEFAULT_SCHEMA
    assert (directory / "ClientRequest.json").is_file(), (
        f"no upstream schema in {directory}: "
        f"run `python -m codex_app_harness.upstream schema --experimental --out {directory}`"
    )
    return directory
