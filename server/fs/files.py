"""File operations behind fs/*, with upstream's semantics and a few of its hazards removed.

Every function takes normalized absolute paths (server.protocol.paths), blocks, and raises OSError for the
OS's own failures (the rpc core words them like upstream) or FsRequestError for refusals upstream reports
as invalid requests (-32600).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from dataclasses import dataclass

from codex_app_tools.atomic import atomic_write
from server.fs import encoding
from server.protocol.errors import InvalidRequest
from server.protocol.paths import is_within


class FsRequestError(InvalidRequest):
    """A request the filesystem layer refuses (upstream answers these with -32600 and this message)."""


def write_payload(data_base64: str) -> bytes:
    """fs/writeFile's `dataBase64`, decoded before anything touches the disk, so invalid base64 writes
    nothing; refused in upstream's words unless it is canonical standard base64."""
    try:
        return encoding.decode(data_base64)
    except encoding.Base64Error as exc:
        raise FsRequestError(f"fs/writeFile requires valid base64 dataBase64: {exc}") from None


@dataclass(frozen=True, slots=True)
class Metadata:
    is_directory: bool
    is_file: bool
    is_symlink: bool
    modified_at_ms: int


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    file_name: str
    is_directory: bool
    is_file: bool


def _process_umask() -> int:
    """The umask new files get, read without the set-and-restore race of os.umask()."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


NEW_FILE_MODE = 0o666 & ~_process_umask()
"""Mode of a file writeFile creates: what open(O_CREAT, 0666) would give, as upstream's std::fs::write does."""


def read_file(path: str) -> bytes:
    """Only regular files (after following symlinks). O_NONBLOCK makes opening a FIFO return at once instead
    of waiting for a writer, so the type check after open cannot hang; regular files ignore the flag."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FsRequestError(f"path `{path}` is not a file")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def write_file(path: str, data: bytes) -> None:
    """Replace `path`'s content atomically and durably (codex_app_tools.atomic: O_TMPFILE, fsync, rename).

    A reader (or a crash) sees the old content or the new, never a mix; a failed or killed write leaves
    the old file untouched and no temporary file behind. The existing file's permission bits are kept; a
    symlink is written through (its target is replaced, the link stays), as upstream's in-place write
    would. Parents are not created, like upstream: a missing directory is ENOENT.
    """
    target = posixpath.realpath(path) if os.path.islink(path) else path
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    atomic_write(target, data, mode=mode)


def create_directory(path: str, *, recursive: bool) -> None:
    if recursive:
        os.makedirs(path, exist_ok=True)
    else:
        os.mkdir(path)


def metadata(path: str) -> Metadata:
    """Kind and times follow symlinks; isSymlink comes from lstat (upstream's shape)."""
    link = os.lstat(path)
    target = os.stat(path) if stat.S_ISLNK(link.st_mode) else link
    return Metadata(
        is_directory=stat.S_ISDIR(target.st_mode),
        is_file=stat.S_ISREG(target.st_mode),
        is_symlink=stat.S_ISLNK(link.st_mode),
        modified_at_ms=target.st_mtime_ns // 1_000_000,
    )


def read_directory(path: str) -> list[DirectoryEntry]:
    """Entries in the OS's readdir order; symlinks are resolved and broken ones left out, like upstream."""
    entries: list[DirectoryEntry] = []
    with os.scandir(path) as scan:
        for entry in scan:
            try:
                info = entry.stat(follow_symlinks=True)
            except OSError:
                if entry.is_symlink():
                    continue
                raise
            entries.append(DirectoryEntry(entry.name, stat.S_ISDIR(info.st_mode), stat.S_ISREG(info.st_mode)))
    return entries


def remove(path: str, *, recursive: bool, force: bool) -> None:
    """Symlinks are removed, never followed; `force` forgives only a missing path (not ENOTDIR etc.)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if force:
            return
        raise
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
    elif recursive:
        shutil.rmtree(path)
    else:
        os.rmdir(path)


def copy(source: str, destination: str, *, recursive: bool) -> None:
    """Copy a file, a symlink (as a symlink) or, with `recursive`, a directory tree merged into `destination`.

    Deliberate difference from upstream: copying a file onto itself is a no-op here; upstream truncates
    the file to zero bytes (it opens the destination for writing before reading the source).
    """
    info = os.lstat(source)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), destination)
    elif stat.S_ISDIR(info.st_mode):
        if not recursive:
            raise FsRequestError("fs/copy requires recursive: true when sourcePath is a directory")
        if is_within(posixpath.realpath(destination), posixpath.realpath(source)):
            raise FsRequestError("fs/copy cannot copy a directory to itself or one of its descendants")
        _copy_tree(source, destination)
    elif stat.S_ISREG(info.st_mode):
        _copy_file(source, destination)
    else:
        raise FsRequestError("fs/copy only supports regular files, directories, and symlinks")


def _copy_file(source: str, destination: str) -> None:
    """Content and permission bits, like std::fs::copy (not times or owner)."""
    try:
        shutil.copyfile(source, destination)
    except shutil.SameFileError:
        return
    shutil.copymode(source, destination)


def _copy_tree(source: str, destination: str) -> None:
    """Merge `source` into `destination`; entries that are neither file, directory nor symlink are skipped
    (as upstream does), which also keeps a FIFO in the tree from blocking the copy."""
    try:
        os.mkdir(destination)
    except FileExistsError:
        if not os.path.isdir(destination):
            raise
    with os.scandir(source) as scan:
        entries = list(scan)
    for entry in entries:
        target = posixpath.join(destination, entry.name)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir(follow_symlinks=False):
            _copy_tree(entry.path, target)
        elif entry.is_file(follow_symlinks=False):
            _copy_file(entry.path, target)
