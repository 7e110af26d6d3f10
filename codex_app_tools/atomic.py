"""Atomic, durable file replacement: the one way this project writes a file that must never be torn.

The scheme is POSIX's write-then-rename: the new bytes go to a file in the target's own directory (so
the rename never crosses a filesystem), the file is fsynced before the rename (otherwise a crash can leave
the new name pointing at an empty file, see ext4's `auto_da_alloc` notes), renamed over the target with
rename(2) (atomic for readers), and the directory is fsynced so the rename itself survives a power cut.

Where Linux offers it, the temporary file is created with `O_TMPFILE` (open(2)): it has no name until it
is complete, so a process killed mid-write leaves nothing behind, not even for a secret that is half
written. It is given a name with linkat(2) only after its data is fsynced, and renamed over the target
straight away; a kill in that window of a few microseconds leaves a complete file under a recognisable
name, which `sweep_orphans` removes. open(2) documents two ways to name it: `AT_SYMLINK_FOLLOW` on
`/proc/self/fd/N`, and `AT_EMPTY_PATH` on the descriptor (which needs CAP_DAC_READ_SEARCH); some kernels
refuse the first with EXDEV, so both are tried, and where neither works the bytes are copied into a
named temporary file (still fsynced before the rename).

Elsewhere (macOS, filesystems without `O_TMPFILE`) a named temporary file is used, created with
its final permission bits so a secret is never readable by others, not even between create and chmod.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"
"""Temporary names are `.<target name>.<random>.tmp` next to the target: hidden, and easy to sweep."""

_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}
"""What open(2) answers where the kernel or the filesystem has no O_TMPFILE (per its ERRORS section)."""


def temp_name(target: Path) -> Path:
    """A fresh temporary path beside `target` in the pattern `sweep_orphans` recognises.

    The random part is os.urandom's, as `secrets.token_hex` makes it, without importing `secrets` (and
    `random`, `hmac`, `base64` with it), ~3 ms that every server would pay before its first answer.
    """
    return target.with_name(f".{target.name}.{os.urandom(6).hex()}{TEMP_SUFFIX}")


def sweep_orphans(target: Path) -> int:
    """Remove temporary files an interrupted write of `target` left behind; returns how many went.

    Only names in our own pattern (`.<name>.<random>.tmp`) are touched. Call it when no write of
    `target` can be under way in this process (startup, logout).
    """
    removed = 0
    prefix = f".{target.name}."
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(target.parent):
            if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable; best effort (some filesystems refuse fsync on a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _open_unnamed(directory: Path, mode: int) -> int | None:
    """An O_TMPFILE descriptor in `directory`, or None where the platform has none."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        return os.open(directory, flag | os.O_RDWR | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise


_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
"""linkat(2) constants from <fcntl.h>; the stdlib's os.link cannot pass AT_EMPTY_PATH."""


def _link_by_proc(fd: int, named: Path) -> bool:
    try:
        os.link(f"/proc/self/fd/{fd}", named, follow_symlinks=True)
    except OSError:
        return False
    return True


def _link_by_empty_path(fd: int, named: Path) -> bool:
    import ctypes  # only where /proc refused: ctypes costs a few ms of start-up

    linkat = ctypes.CDLL(None, use_errno=True).linkat
    return int(linkat(fd, b"", _AT_FDCWD, os.fsencode(named), _AT_EMPTY_PATH)) == 0


def _name_unnamed(fd: int, named: Path, mode: int) -> None:
    """Give the complete, fsynced O_TMPFILE file `fd` the name `named` (see the module docstring)."""
    if _link_by_proc(fd, named) or _link_by_empty_path(fd, named):
        return
    copy = os.open(named, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(copy, mode)
        with os.fdopen(os.dup(fd), "rb") as source, os.fdopen(copy, "wb", closefd=False) as sink:
            source.seek(0)
            shutil.copyfileobj(source, sink)
            sink.flush()
            os.fsync(copy)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(named)
        raise
    finally:
        os.close(copy)


@contextlib.contextmanager
def atomic_writer(target: Path | str, *, mode: int = 0o644, durable: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file; when the block ends without an exception its content replaces `target`.

    `mode` is applied at creation (before any byte is written), not subject to the umask. On an
    exception the target is untouched and nothing is left behind. With `durable=False` the directory is
    not fsynced (the data still is): a power cut right after may bring back the previous, complete file.
    """
    path = Path(target)
    directory = path.parent
    fd = _open_unnamed(directory, mode)
    named: Path | None = None
    if fd is None:
        named = temp_name(path)
        fd = os.open(named, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    os.fchmod(fd, mode)
    try:
        with os.fdopen(fd, "wb", closefd=False) as handle:
            yield handle
            handle.flush()
            os.fsync(fd)
        if named is None:
            candidate = temp_name(path)
            _name_unnamed(fd, candidate, mode)
            named = candidate
        os.replace(named, path)
        named = None
    finally:
        os.close(fd)
        if named is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(named)
    if durable:
        fsync_directory(directory)


def atomic_write(target: Path | str, data: bytes | str, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replace `target` with `data` (str is written as UTF-8), atomically; see `atomic_writer`."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_writer(target, mode=mode, durable=durable) as handle:
        handle.write(payload)
