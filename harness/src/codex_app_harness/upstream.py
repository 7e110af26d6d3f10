"""The upstream codex binary: where it is (the `openai-codex-cli-bin` wheel, else `codex` on PATH), and its
JSON schema.

`python -m codex_app_harness.upstream schema --out DIR [--experimental]` writes the schema once; a second call with
the same binary is a no-op, so test sessions can call it unconditionally.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

UPSTREAM_VERSION = "0.163.0"
"""The upstream release this harness pins (its `codex` extra); tests/test_upstream_version.py checks every copy."""
STAMP = ".generated-by"


class UpstreamMissing(RuntimeError):
    pass


def codex_binary() -> Path:
    """The upstream binary: the pinned wheel when installed (what the environment declares), else `codex` on
    PATH; a clear error when there is neither."""
    try:
        import codex_cli_bin
    except ImportError:
        found = shutil.which("codex")
        if found is None:
            raise UpstreamMissing(
                "the upstream server is not installed and no `codex` is on PATH: "
                f"pip install openai-codex-cli-bin=={UPSTREAM_VERSION}"
            ) from None
        return Path(found)
    return Path(codex_cli_bin.bundled_codex_path())


def _fingerprint(binary: Path, experimental: bool) -> str:
    stat = binary.stat()
    return hashlib.sha256(f"{binary}:{stat.st_size}:{stat.st_mtime_ns}:{experimental}".encode()).hexdigest()


def generate_schema(out: Path, *, experimental: bool = False) -> Path:
    """Write upstream's JSON schema to `out` (atomically: a half-written schema would fail every test)."""
    binary = codex_binary()
    stamp = out / STAMP
    fingerprint = _fingerprint(binary, experimental)
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".schema-", dir=out.parent))
    try:
        command = [str(binary), "app-server", "generate-json-schema", "--out", str(staging)]
        if experimental:
            command.append("--experimental")
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        (staging / STAMP).write_text(fingerprint)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codex_app_harness.upstream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    schema = sub.add_parser("schema", help="generate the upstream JSON schema into a directory")
    schema.add_argument("--out", type=Path, required=True, help="directory to (re)write")
    schema.add_argument("--experimental", action="store_true", help="include experimental methods")
    sub.add_parser("path", help="print the upstream binary's path")
    args = parser.parse_args(argv)
    try:
        if args.command == "path":
            print(codex_binary())
        else:
            print(
                f"upstream schema: {generate_schema(args.out, experimental=args.experimental)}",
                file=sys.stderr,
            )
    except (UpstreamMissing, subprocess.CalledProcessError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
