"""The Mach-O structural check: a well-formed ad-hoc-signed arm64 program passes, and every way the macOS
artifact could be wrong (corrupted, wrong CPU, too new a minimum, an extra dylib, unsigned, unpatched, not
Mach-O at all) fails with a message naming the defect.

The programs are tiny C files linked by the same zig the release uses (a few seconds each); the real zsh
artifact goes through the same check in its smoke step (`nox -s zsh -- --target aarch64-apple-darwin`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import lief
import pytest

from release import targets
from release.toolchains.zig import zig_binary
from release.zsh import macho, smoke

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    const char *wrapper = getenv("EXEC_WRAPPER");
    if (wrapper) fprintf(stderr, "exec wrapper failed: %s\n", wrapper);
    return 0;
}
"""


def link(tmp: Path, name: str, zig_target: str, source: str = PROGRAM) -> Path:
    c_file = tmp / f"{name}.c"
    c_file.write_text(source)
    out = tmp / name
    subprocess.run([zig_binary(), "cc", "-target", zig_target, "-O2", str(c_file), "-o", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("macho")
    darwin = targets.get("aarch64-apple-darwin").zig_target
    return {
        "good": link(tmp, "good", darwin),
        "new-macos": link(tmp, "new-macos", "aarch64-macos.15.0"),
        "x86_64": link(tmp, "x86_64", "x86_64-macos.12.0"),
        "unpatched": link(tmp, "unpatched", darwin, "int main(void) { return 0; }\n"),
    }


def changed_copy(source: Path, dest: Path, old: bytes, new: bytes, occurrence: int = 0) -> Path:
    data = bytearray(source.read_bytes())
    at = -1
    for _ in range(occurrence + 1):
        at = data.index(old, at + 1)
    data[at : at + len(old)] = new
    dest.write_bytes(bytes(data))
    return dest


def test_an_ad_hoc_signed_arm64_program_linked_by_zig_passes(programs: dict[str, Path]) -> None:
    summary = macho.check(programs["good"])
    assert "arm64 executable, LC_MAIN, macOS >= 12.0.0, links /usr/lib/libSystem.B.dylib" in summary
    assert "ad-hoc signature over" in summary


def test_a_changed_string_or_a_flipped_code_byte_is_caught(programs: dict[str, Path], tmp_path: Path) -> None:
    corrupted = changed_copy(programs["good"], tmp_path / "corrupted", b"exec wrapper failed", b"exec wrapper FAILED")
    with pytest.raises(macho.MachOProblem, match=r"missing: \['exec wrapper failed'\]"):
        macho.check(corrupted)
    patched = bytearray(programs["good"].read_bytes())
    text = lief.MachO.parse(str(programs["good"])).at(0).get_section("__text")
    patched[text.offset] ^= 0xFF
    (tmp_path / "text-flipped").write_bytes(bytes(patched))
    with pytest.raises(macho.MachOProblem, match=r"code signature mismatch at page 0 .*the file was altered"):
        macho.check(tmp_path / "text-flipped")


def test_a_minimum_macos_newer_than_the_table_is_refused(programs: dict[str, Path]) -> None:
    with pytest.raises(macho.MachOProblem, match=r"minimum macOS is 15\.0\.0, newer than the promised 12\.0"):
        macho.check(programs["new-macos"])


def test_an_intel_binary_is_refused(programs: dict[str, Path]) -> None:
    with pytest.raises(macho.MachOProblem, match="CPU type is X86_64, not ARM64"):
        macho.check(programs["x86_64"])


def test_a_binary_linking_another_dylib_is_refused(programs: dict[str, Path], tmp_path: Path) -> None:
    relinked = changed_copy(
        programs["good"], tmp_path / "ncurses", b"/usr/lib/libSystem.B.dylib", b"/usr/lib/libncurses.dylib\0"
    )
    with pytest.raises(macho.MachOProblem, match=r"links \['/usr/lib/libncurses.dylib'\]; only .*libSystem"):
        macho.check(relinked)


def test_an_unsigned_binary_is_refused(programs: dict[str, Path], tmp_path: Path) -> None:
    binary = lief.MachO.parse(str(programs["good"])).at(0)
    binary.remove_signature()
    binary.write(str(tmp_path / "unsigned"))
    with pytest.raises(macho.MachOProblem, match="no LC_CODE_SIGNATURE"):
        macho.check(tmp_path / "unsigned")


def test_a_binary_without_the_patch_strings_is_refused(programs: dict[str, Path]) -> None:
    with pytest.raises(macho.MachOProblem, match="strings of the exec-wrapper patch are missing"):
        macho.check(programs["unpatched"])


def test_an_elf_file_is_not_a_mach_o(tmp_path: Path) -> None:
    with pytest.raises(macho.MachOProblem, match="is not a Mach-O file"):
        macho.check(Path("/bin/sh").resolve())


def test_smoke_runs_the_structure_check_for_macos_and_reports_the_rest_not_run(
    programs: dict[str, Path], tmp_path: Path
) -> None:
    darwin = targets.get("aarch64-apple-darwin")
    results = smoke.smoke(darwin, programs["good"], tmp_path, version="5.9", modules=[], static=False)
    assert results[0].name == "mach-o structure"
    assert results[0].status == "passed"
    assert {r.status for r in results[1:]} == {"not run"}
    assert smoke.summary(results)["status"] == "not run"
    broken = smoke.smoke(darwin, programs["x86_64"], tmp_path, version="5.9", modules=[], static=False)
    assert broken[0].status == "failed"
    assert smoke.summary(broken)["status"] == "failed"
