"""Changes to the entries of a known set of directories, for an owner that already knows the tree.

A fuzzy search index has walked its root, so it knows every directory the watcher needs: it hands them
over (`watch`), again after each refresh for the directories that appeared, and asks for nothing else.
One non-recursive inotify watch per directory (inotify(7), through `inotify_simple`):

- Nothing walks the tree again, and no call holds the GIL for long. A recursive watchfiles watcher
  (`RustNotify(..., recursive=True)`) walks the whole tree itself, every file included, inside a
  constructor that holds the GIL: 42 ms at 10,000 files and 757 ms at 200,000 on a 2-core machine,
  during which the event loop answered nothing (a keystroke typed then waited for all of it). Here each
  `inotify_add_watch` is one ctypes call, which releases the GIL, made from a worker thread: about 5 us a
  directory, and the loop keeps running between them.
- Events are read on the event loop itself (the descriptor is non-blocking and registered with
  `loop.add_reader`): no thread wakes up when nothing changes.
- Only what changes a listing is subscribed to: entries created, deleted or moved, and the directory
  itself going away. Writes inside a file matter only for `content_names` (a `.gitignore` that changes
  what is listed), so a build rewriting files in the tree costs nothing.
- A symlinked directory is watched through its link (inotify follows it), so changes in a target
  outside the root are seen too, which a recursive watcher of the root did not do.

`async for paths in watcher` yields the changed paths (absolute; a directory's own path when the
directory itself went away; {""} alone when the kernel's event queue overflowed or the batch outgrew
PENDING_PATHS_MAX, which means anything may have changed). A batch is handed over once BATCH_SECONDS pass
after its first event, so a checkout that touches thousands of entries is a few batches, not thousands.
"""

from __future__ import annotations

import asyncio
import errno
import sys
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inotify_simple import INotify

BATCH_SECONDS = 0.01
"""How long a batch keeps gathering events after its first one (what watchfiles' step did)."""
PENDING_PATHS_MAX = 4096
"""Changed paths a batch holds; past this it is the overflow batch {""} ("anything may have changed"), so
a tree churning while its owner is busy costs bounded memory."""

IN_CLOSE_WRITE = 0x0008
IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO = 0x0100, 0x0200, 0x0040, 0x0080
IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED, IN_Q_OVERFLOW, IN_ONLYDIR = 0x0400, 0x0800, 0x8000, 0x4000, 0x01000000
"""Flag values of <sys/inotify.h> (inotify(7)), named as the kernel names them."""
ENTRY_EVENTS = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
WATCH_MASK = ENTRY_EVENTS | IN_CLOSE_WRITE | IN_ONLYDIR


def _log(message: str) -> None:
    print(f"app-server: {message}", file=sys.stderr, flush=True)


def _open() -> INotify:
    from inotify_simple import INotify  # ~14 ms of imports (ctypes): paid in a worker thread, once needed

    return INotify(nonblocking=True)


class DirectoryWatcher:
    """Changed paths under the directories it was told to watch (see the module docstring)."""

    def __init__(self, content_names: Iterable[str] = ()) -> None:
        self._content_names = frozenset(content_names)
        self._inotify: INotify | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._paths: dict[int, str] = {}
        """Watch descriptor -> the directory it watches."""
        self._watched: set[str] = set()
        self._pending: set[str] = set()
        self._ready = asyncio.Event()
        self._at_limit = False

    async def __aenter__(self) -> DirectoryWatcher:
        self._loop = asyncio.get_running_loop()
        inotify = await asyncio.to_thread(_open)
        self._inotify = inotify
        self._loop.add_reader(inotify.fileno(), self._read)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        inotify, self._inotify = self._inotify, None
        if inotify is not None and self._loop is not None:
            self._loop.remove_reader(inotify.fileno())
            inotify.close()
        self._ready.set()

    @property
    def watched(self) -> int:
        return len(self._watched)

    async def watch(self, directories: Iterable[str]) -> int:
        """Watch those of `directories` not watched yet; how many were added.

        A directory that vanished or cannot be read is skipped: its parent's watch reports what happens
        to it. Past the system's watch limit (fs.inotify.max_user_watches) no more are added, once said.
        """
        inotify = self._inotify
        if inotify is None or self._at_limit:
            return 0
        added = await asyncio.to_thread(self._add, inotify, directories)
        for descriptor, directory in added:
            self._paths[descriptor] = directory
            self._watched.add(directory)
        return len(added)

    def _add(self, inotify: INotify, directories: Iterable[str]) -> list[tuple[int, str]]:
        """Worker thread: the watch set itself is only changed on the loop (`watch`, `_read`)."""
        watched, added = self._watched, []
        for directory in directories:
            if directory in watched:
                continue
            try:
                added.append((inotify.add_watch(directory, WATCH_MASK), directory))
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    self._at_limit = True
                    _log(
                        f"watching {len(watched) + len(added)} directories, the system's limit: changes in the "
                        "others are seen at the next search (raise fs.inotify.max_user_watches to watch more)"
                    )
                    break
        return added

    def _read(self) -> None:
        """On the loop, whenever the descriptor is readable."""
        inotify = self._inotify
        if inotify is None:
            return
        try:
            events = inotify.read(timeout=0)
        except OSError as exc:
            _log(f"file watcher stopped: {type(exc).__name__}: {exc}")
            self.close()
            return
        for event in events:
            directory = self._paths.get(event.wd, "")
            if event.mask & IN_IGNORED:  # the watch is gone with its directory: a new one may be added later
                self._paths.pop(event.wd, None)
                self._watched.discard(directory)
            elif "" in self._pending:
                continue  # the batch already says that anything may have changed
            elif event.mask & IN_Q_OVERFLOW or len(self._pending) >= PENDING_PATHS_MAX or not directory:
                self._pending = {""}  # (no directory: a watch `watch` has made but not recorded yet)
            elif event.mask & ENTRY_EVENTS or event.name in self._content_names:
                self._pending.add(f"{directory}/{event.name}" if event.name else directory)
        if self._pending:
            self._ready.set()

    def __aiter__(self) -> AsyncIterator[set[str]]:
        return self._batches()

    async def _batches(self) -> AsyncIterator[set[str]]:
        while self._inotify is not None:
            await self._ready.wait()
            await asyncio.sleep(BATCH_SECONDS)
            self._ready.clear()
            batch, self._pending = self._pending, set()
            if batch:
                yield batch
