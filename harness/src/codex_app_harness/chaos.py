"""Chaos mode: deliver notifications late and out of order, reproducibly.

A test that passes only because notifications happen to arrive in the order the server sends them will
flake in CI on a loaded machine. Chaos makes that failure local: each notification is held back a random
0..max_delay seconds before it reaches the buffer, so notifications sent close together overtake each
other, and a notification can land after the response of a request that the server sent it before.

The delays come from a seeded generator. The plugin derives one stream per (seed, test, server) so a
failing test rerun alone with the same `--harness-chaos=SEED` sees the same delays; the seed is printed in
every timeout and in the failure report. Delays are bounded, so chaos never turns a pass into a timeout.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MAX_DELAY = 0.05
"""Seconds. Long enough to reorder a burst (a server writes a line in microseconds), short enough that a
suite of hundreds of tests stays within seconds of its normal run time."""


@dataclass
class Chaos:
    seed: int
    max_delay: float = MAX_DELAY
    stream: str = ""
    """Separates the delay sequences of different tests and servers under one seed."""
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.max_delay <= 1:
            raise ValueError(f"chaos max_delay must be between 0 and 1 second, got {self.max_delay}")
        # A str seed is hashed with SHA-512 by random.Random: stable across processes and PYTHONHASHSEED.
        self.rng = random.Random(f"{self.seed}/{self.stream}")

    def delay(self) -> float:
        return self.rng.uniform(0, self.max_delay)

    def describe(self) -> str:
        return f"chaos seed {self.seed} (rerun with --harness-chaos={self.seed})"
