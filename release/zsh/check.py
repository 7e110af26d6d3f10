"""Run zsh's own test suite (`make check`) against the static build, judging each test script separately.

The stock handler only prints totals, so a custom ZTST handler prints one result line per script; failures
are then compared with the one list of known musl differences below, and anything else fails the run.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from release.errors import ReleaseError
from release.zsh.build import TargetDirs, last_line

EXPECTED_FAILURES: dict[str, str] = {
    "A03quoting": "musl's C locale maps bytes above 0x7f to U+DF80..U+DFFF: `#char` of $'\\M-\\\\' is 0xDFDC",
    "B03print": "musl's C locale byte mapping: the numeric value of a high character is 0xDFxx",
    "D07multibyte": "musl's C locale is 8-bit clean, so print $'\\u00e9' under LC_ALL=C succeeds instead of failing",
    "E02xtrace": "musl's C locale byte mapping: `which` under LC_ALL=C prints a UTF-8 name as \\udfXX escapes",
    "V09datetime": "musl's strftime accepts the invalid %@ specifier where glibc's fails",
}
"""Test scripts that fail on a musl static build for reasons outside the patch, with the reason."""

EXPECTED_SKIPS: dict[str, str] = {
    "V07pcre": "zsh/pcre is not built (no libpcre for the target)",
    "V11db_gdbm": "zsh/db/gdbm is not built (no libgdbm for the target)",
}

TIMEOUT_S = 1800
"""The suite takes about 4 minutes on 2 cores; a hung test script must not hang the session forever."""

RESULT_TAG = "codex-ztst-result"
HANDLER = "codex-handler.zsh"
HANDLER_SCRIPT = f"""emulate zsh
for file in "${{(f)ZTST_testlist}}"; do
  $ZTST_exe +Z -f $ZTST_srcdir/ztst.zsh $file
  print -r -- "{RESULT_TAG} ${{file:t:r}} $?"
done
"""
"""Like zsh's runtests.zsh, but one machine-readable line per script (exit 0 passed, 2 skipped)."""


@dataclass
class Outcome:
    passed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def unexpected(self) -> list[str]:
        return [name for name in self.failed if name not in EXPECTED_FAILURES]

    @property
    def fixed(self) -> list[str]:
        """Expected failures that passed: worth removing from the list."""
        return [name for name in EXPECTED_FAILURES if name in self.passed]

    def summary(self) -> str:
        expected = [name for name in self.failed if name in EXPECTED_FAILURES]
        parts = [
            f"make check: {len(self.passed)} passed, {len(self.skipped)} skipped ({', '.join(self.skipped)})",
            f"{len(expected)} expected failures ({', '.join(expected)})",
            f"{len(self.unexpected)} unexpected failures ({', '.join(self.unexpected)})",
        ]
        if self.fixed:
            parts.append(f"expected to fail but passed: {', '.join(self.fixed)}")
        return "; ".join(parts)


def parse(output: str) -> Outcome:
    outcome = Outcome()
    for line in output.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == RESULT_TAG:
            bucket = outcome.passed if words[2] == "0" else outcome.skipped if words[2] == "2" else outcome.failed
            bucket.append(words[1])
    return outcome


def make_check(dirs: TargetDirs, jobs: int) -> Outcome:
    src = next((p for p in dirs.src.glob("zsh-*") if p.is_dir()), None)
    if src is None or not (src / "Src" / "zsh").is_file():
        raise ReleaseError(f"no zsh build tree under {dirs.src}; run `python -m release zsh build --rebuild`")
    (src / "Test" / HANDLER).write_text(HANDLER_SCRIPT, encoding="utf-8")
    log = dirs.logs / "make-check.log"
    env = {**os.environ, "ZTST_handler": HANDLER}
    with log.open("wb") as out:
        try:
            result = subprocess.run(
                ["make", f"-j{jobs}", "check"],
                cwd=src,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ReleaseError(f"make check did not finish in {TIMEOUT_S} s: {last_line(log)} (log: {log})") from None
    outcome = parse(Path(log).read_text(encoding="utf-8", errors="replace"))
    if result.returncode != 0 or not outcome.passed:
        raise ReleaseError(f"make check did not run (exit {result.returncode}): {last_line(log)} (log: {log})")
    return outcome
