"""`python -m bench [NAME ...]`: run benchmark modules, print their figures, write bench/results/NAME.json.

A benchmark is a module in this package with `run() -> dict`; the dict is written as JSON with the machine
it ran on. Ours and upstream are always measured in the same run, so ratios hold even on a noisy machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def available() -> list[str]:
    return sorted(
        info.name for info in pkgutil.iter_modules([str(Path(__file__).parent)]) if not info.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(available())})")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(
            f"error: unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(available())}", file=sys.stderr
        )
        return 2
    RESULTS.mkdir(exist_ok=True)
    failed = []
    for name in names:
        print(f"==> bench {name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            figures = importlib.import_module(f"bench.{name}").run()
        except Exception as exc:  # one broken benchmark must not hide the others' numbers
            print(f"bench {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        record = {
            "benchmark": name,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "seconds": round(time.monotonic() - started, 1),
            "figures": figures,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps(figures, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
