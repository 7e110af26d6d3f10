"""Lexical path normalization, matching upstream's AbsolutePathBuf.

Upstream normalizes every path while deserializing the request: `..` and `.` are resolved and repeated or
trailing slashes dropped, without touching the disk (symlinks are kept). So `/d/missing/../f` names `/d/f`
even though `missing` does not exist, and `/d/f/` names the file `/d/f`. Callers see the normalized path
echoed back (fs/watch), so ours must normalize the same way before any system call.
"""

from __future__ import annotations

import posixpath


def normalize(path: str) -> str:
    """`path` (absolute) with `.`, `..` and redundant slashes resolved lexically.

    posixpath.normpath keeps a leading `//` (POSIX leaves its meaning to the implementation); Rust's path
    components do not, and neither does Linux, so it is folded to `/` here.
    """
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return normalized


def is_within(path: str, ancestor: str) -> bool:
    """Whether `path` is `ancestor` or lies below it (both normalized, absolute)."""
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")
