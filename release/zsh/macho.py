"""A structural check of the arm64 macOS binary that runs on any machine, read with lief.

It proves what can be proven without a Mac: the file is a thin arm64 Mach-O executable with an entry point
(LC_MAIN), it runs on macOS no newer than the targets table's minimum, it loads nothing but libSystem, it
carries the patch's EXEC_WRAPPER strings, and its ad-hoc code signature (which arm64 macOS requires of every
executable, see Apple's TN3127 "Inside Code Signing: Requirements") is present and matches every page it
covers. What only a Mac can show (that dyld resolves every symbol, that the kernel accepts the signature,
that zsh behaves) is the job of the smoke test on the macos-15 runner.

The signature layout (SuperBlob, CodeDirectory, page hashes) is Apple's, published in its open-source
`xnu` (osfmk/kern/cs_blobs.h).
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import lief

from release.targets import MACOS_MINIMUM

ALLOWED_DYLIBS = ("/usr/lib/libSystem.B.dylib",)
"""Everything else (ncurses included) is linked statically, so the binary needs nothing but the OS."""

REQUIRED_STRINGS = (b"EXEC_WRAPPER", b"exec wrapper failed")
"""The environment variable the patch reads and its error message: proof the patch is compiled in."""

CSMAGIC_EMBEDDED_SIGNATURE = 0xFADE0CC0
CSMAGIC_CODEDIRECTORY = 0xFADE0C02
CSSLOT_CODEDIRECTORY = 0
CS_ADHOC = 0x2
CS_HASHTYPE_SHA256 = 2


class MachOProblem(Exception):
    """The binary is not what the release promises; the message says what is wrong."""


def version_tuple(text: str) -> tuple[int, int, int]:
    major, minor, patch = (*(int(part) for part in text.split(".")), 0, 0)[:3]
    return major, minor, patch


def check(path: Path) -> str:
    """Raise `MachOProblem` naming the first defect; return a one-line summary when there is none."""
    data = path.read_bytes()
    lief.logging.disable()
    fat = lief.MachO.parse(str(path))
    if fat is None or fat.size == 0:
        raise MachOProblem(f"{path.name} is not a Mach-O file")
    if fat.size != 1:
        raise MachOProblem(f"{path.name} is a universal binary with {fat.size} slices; expected thin arm64")
    binary = fat.at(0)
    if binary is None:
        raise MachOProblem(f"{path.name} has no readable Mach-O slice")
    header = binary.header
    if header.cpu_type != lief.MachO.Header.CPU_TYPE.ARM64:
        raise MachOProblem(f"CPU type is {header.cpu_type.name}, not ARM64")
    if header.file_type != lief.MachO.Header.FILE_TYPE.EXECUTE:
        raise MachOProblem(f"file type is {header.file_type.name}, not an executable")
    if not binary.has_main_command:
        raise MachOProblem("no LC_MAIN load command: the binary has no entry point for dyld")
    minimum = minimum_macos(binary)
    if minimum > version_tuple(MACOS_MINIMUM):
        shown = ".".join(map(str, minimum))
        raise MachOProblem(f"minimum macOS is {shown}, newer than the promised {MACOS_MINIMUM}")
    dylibs = [library.name for library in binary.libraries]
    if tuple(dylibs) != ALLOWED_DYLIBS:
        raise MachOProblem(f"links {dylibs}; only {list(ALLOWED_DYLIBS)} is allowed")
    missing = [s.decode() for s in REQUIRED_STRINGS if s not in data]
    if missing:
        raise MachOProblem(f"strings of the exec-wrapper patch are missing: {missing}")
    signature = binary.code_signature
    if signature is None:
        raise MachOProblem("no LC_CODE_SIGNATURE: arm64 macOS kills unsigned executables")
    pages = verify_code_directory(data, signature.data_offset, signature.data_size)
    shown = ".".join(map(str, minimum))
    return f"arm64 executable, LC_MAIN, macOS >= {shown}, links {dylibs[0]}, ad-hoc signature over {pages} pages"


def minimum_macos(binary: lief.MachO.Binary) -> tuple[int, int, int]:
    build, version_min = binary.build_version, binary.version_min
    if build is not None:
        if build.platform != lief.MachO.BuildVersion.PLATFORMS.MACOS:
            raise MachOProblem(f"built for {build.platform.name}, not macOS")
        return version_tuple(".".join(map(str, build.minos)))
    if version_min is not None:
        return version_tuple(".".join(map(str, version_min.version)))
    raise MachOProblem("no LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX: the minimum macOS is unknown")


def verify_code_directory(data: bytes, offset: int, size: int) -> int:
    """Check the embedded signature's CodeDirectory hashes every page up to its code limit; returns the
    number of pages. All fields are big-endian (cs_blobs.h)."""
    blob = data[offset : offset + size]
    if len(blob) < 12 or struct.unpack_from(">I", blob, 0)[0] != CSMAGIC_EMBEDDED_SIGNATURE:
        raise MachOProblem("LC_CODE_SIGNATURE does not point at an embedded signature (bad SuperBlob magic)")
    (count,) = struct.unpack_from(">I", blob, 8)
    directory = None
    for index in range(min(count, 64)):
        slot_type, slot_offset = struct.unpack_from(">II", blob, 12 + 8 * index)
        if slot_type == CSSLOT_CODEDIRECTORY:
            directory = slot_offset
    if directory is None or directory + 44 > len(blob):
        raise MachOProblem("the code signature has no CodeDirectory")
    magic, _length, _version, flags, hash_offset, _ident, _special, n_code_slots, code_limit = struct.unpack_from(
        ">9I", blob, directory
    )
    hash_size, hash_type, _platform, page_log2 = struct.unpack_from(">4B", blob, directory + 36)
    if magic != CSMAGIC_CODEDIRECTORY:
        raise MachOProblem("the code signature's CodeDirectory has a bad magic number")
    if not flags & CS_ADHOC:
        raise MachOProblem(f"the code signature is not ad-hoc (flags {flags:#x})")
    if hash_type != CS_HASHTYPE_SHA256 or hash_size != 32:
        raise MachOProblem(f"unexpected code signature hash type {hash_type} (size {hash_size})")
    page = 1 << page_log2
    if code_limit > offset or n_code_slots != -(-code_limit // page):
        raise MachOProblem("the code signature does not cover the file up to the signature")
    for slot in range(n_code_slots):
        start = directory + hash_offset + slot * hash_size
        expected = blob[start : start + hash_size]
        actual = hashlib.sha256(data[slot * page : min((slot + 1) * page, code_limit)]).digest()
        if actual != expected:
            raise MachOProblem(f"code signature mismatch at page {slot} (bytes {slot * page}..): the file was altered")
    return int(n_code_slots)
