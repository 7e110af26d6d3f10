"""Progress lines on stderr: one line when a step starts, one with its wall time when it ends.

Builds run for minutes; a user (or a CI log) needs to see which step is running and how long each took.
The recorded timings are also what `bench/zsh_build.py` reports, so the numbers come from the real steps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.timings: dict[str, float] = {}

    def say(self, message: str) -> None:
        print(f"[{self.label}] {message}", file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.say(f"{name} ...")
        start = time.monotonic()
        try:
            yield
        except BaseException:
            self.say(f"{name} failed after {time.monotonic() - start:.1f}s")
            raise
        elapsed = time.monotonic() - start
        self.timings[name] = self.timings.get(name, 0.0) + elapsed
        self.say(f"{name} done in {elapsed:.1f}s")
