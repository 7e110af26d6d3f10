"""Filesystem change notification on top of watchfiles (Rust notify: inotify on Linux). No polling here.

Two pieces, from low to high level (fuzzy search sessions watch through server.fs.dir_watch instead):

- `Notifier`: one watchfiles `RustNotify` (one inotify instance plus notify's reader thread) drained by one
  daemon thread that hands each batch of changed paths to the event loop.
- `DirectorySet`: a changing, reference-counted set of directories watched non-recursively. RustNotify
  cannot add paths to a running instance, so new directories go into a new small notifier and notifiers
  are merged binary-counter style (each at least twice the size of the next): adding n directories one
  at a time costs O(n log n) inotify registrations and never more than ~log2(n) notifiers (threads).
  Used by the connection-scoped fs/watch registry (server.fs.registry).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from watchfiles._rust_notify import RustNotify

STEP_MS = 10
"""How often the drain thread looks at notify's change buffer; a batch is handed over once a step passes
with nothing new, so an isolated change reaches the event loop 10-20 ms after it happened. Each look is a
wake-up that takes the GIL briefly, which is why notifiers are shared rather than one per watch."""

MAX_BATCH_MS = 50
"""Upper bound on how long one batch keeps growing while changes keep arriving (watchfiles' debounce)."""

JOIN_TIMEOUT_SECONDS = 2.0
"""A drain thread notices its stop flag within one step; this bounds the wait if something is stuck."""

NOTIFIER_ATTEMPTS = 3
"""Directories deleted between our check and notify's registration make creation fail; retry this often."""

OnChanges = Callable[[set[str]], None]
OnGap = Callable[[frozenset[str]], None]
"""Told which watched paths may have changed unseen: a watcher failed and was recreated over them."""


def _log(message: str) -> None:
    print(f"app-server: {message}", file=sys.stderr, flush=True)


class Notifier:
    """One RustNotify over a fixed set of paths, drained by one daemon thread into `on_changes` (called on
    `loop`). Creating it blocks (one inotify_add_watch per path) and raises FileNotFoundError if a path
    is gone; `join()` blocks until the thread has released everything.

    A watcher error does not end it. watchfiles keeps the first error notify reports (a file name that is
    not UTF-8 is one, an inotify queue overflow another) and raises it from every later `watch()`, so the
    drain thread replaces its RustNotify with a fresh one over the same paths and calls `on_gap` with them
    (on `loop`): whatever changed between the error and the new watcher was not seen. Without `on_gap`
    the gap is reported to `on_changes` as a change of every watched path."""

    def __init__(
        self,
        paths: Iterable[str],
        on_changes: OnChanges,
        loop: asyncio.AbstractEventLoop,
        *,
        on_gap: OnGap | None = None,
    ) -> None:
        self.paths = frozenset(paths)
        self._on_changes = on_changes
        self._on_gap = on_gap if on_gap is not None else lambda paths: on_changes(set(paths))
        self._loop = loop
        self._restarts = 0
        self._rust = self._open(self.paths)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="fs-notifier", daemon=True)
        self._thread.start()

    def _open(self, paths: Iterable[str]) -> RustNotify:
        return RustNotify(sorted(paths), False, False, 0, False, True)

    def _drain(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    result = self._rust.watch(MAX_BATCH_MS, STEP_MS, 0, self._stop)
                except Exception as exc:
                    if self._recreate(exc):
                        continue
                    return
                if isinstance(result, str):
                    continue
                if not self._hand_over(self._on_changes, {path for _, path in result}):
                    return
        finally:
            self._rust.close()

    def _hand_over(self, callback: Callable[[Any], None], argument: object) -> bool:
        try:
            self._loop.call_soon_threadsafe(callback, argument)
        except RuntimeError:
            return False  # the event loop is closed: nobody is left to tell
        return True

    def _recreate(self, error: Exception) -> bool:
        """Replace the failed RustNotify (see the class docstring); False if no new one could be made."""
        self._restarts += 1
        if self._restarts & (self._restarts - 1) == 0:  # 1st, 2nd, 4th, 8th...: a file touched in a loop
            # can fail the watcher at every step, and stderr must not grow with it
            _log(f"file watcher failed (failure {self._restarts}), restarting it: {type(error).__name__}: {error}")
        last = error
        for _ in range(NOTIFIER_ATTEMPTS):
            if self._stop.wait(STEP_MS / 1000):
                return False
            try:
                fresh = self._open(path for path in self.paths if os.path.isdir(path))
            except Exception as exc:  # a path vanished meanwhile, or the OS refuses: try again, then give up
                last = exc
                continue
            failed, self._rust = self._rust, fresh
            failed.close()
            return self._hand_over(self._on_gap, self.paths)
        _log(f"file watcher stopped: it could not be restarted: {type(last).__name__}: {last}")
        return False

    def close(self) -> None:
        """Stop without waiting: the drain thread notices within one step and releases the inotify
        instance itself. Waiting here would cost a step per notifier merged, on every new watch."""
        self._stop.set()

    def join(self) -> None:
        """Wait until the thread has ended and the OS handles are released (for orderly shutdown)."""
        if self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT_SECONDS)


Identity = tuple[int, int]
"""(st_dev, st_ino): a directory replaced by a new one at the same path needs a new inotify watch."""


def _identity(path: str) -> Identity | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


class DirectorySet:
    """Directories watched non-recursively for as long as someone holds a reference to them.

    Blocking methods; callers serialize them (the registry runs them one at a time in a worker thread).
    Changes for every armed directory go to `on_changes`; a directory nobody references any more may keep
    reporting until the next rebuild, so consumers filter by what they asked for. Directories a failed
    notifier may have missed changes in go to `on_gap` (see `Notifier`).
    """

    def __init__(self, on_changes: OnChanges, loop: asyncio.AbstractEventLoop, on_gap: OnGap | None = None) -> None:
        self._on_changes = on_changes
        self._on_gap = on_gap
        self._loop = loop
        self._references: dict[str, int] = {}
        self._armed: dict[str, Identity] = {}
        self._levels: list[Notifier] = []

    @property
    def notifiers(self) -> int:
        return len(self._levels)

    def acquire(self, directories: Iterable[str]) -> None:
        for directory in directories:
            self._references[directory] = self._references.get(directory, 0) + 1
        self._settle()

    def release(self, directories: Iterable[str]) -> None:
        for directory in directories:
            count = self._references.get(directory, 0) - 1
            if count > 0:
                self._references[directory] = count
            else:
                self._references.pop(directory, None)
                self._armed.pop(directory, None)
        self._settle()

    def rearm(self, directories: Iterable[str]) -> None:
        """Watch again those of `directories` that were deleted or replaced since they were armed."""
        for directory in directories:
            if directory in self._armed and _identity(directory) != self._armed[directory]:
                del self._armed[directory]
        self._settle()

    def close(self) -> None:
        """Stop every notifier and wait for their threads, so nothing outlives the owner."""
        levels = self._levels
        self._references.clear()
        self._armed.clear()
        self._replace_levels([])
        for level in levels:
            level.join()

    def _settle(self) -> None:
        fresh = {}
        for directory in self._references.keys() - self._armed.keys():
            identity = _identity(directory)
            if identity is not None:
                fresh[directory] = identity
        watched = sum(len(level.paths) for level in self._levels)
        if not self._references:
            self._replace_levels([])
        elif watched - len(self._armed) > len(self._armed) + len(fresh):
            self._armed.update(fresh)
            self._replace_levels([self._notifier(self._armed)])
        elif fresh:
            self._armed.update(fresh)
            self._add_level(set(fresh))

    def _add_level(self, carry: set[str]) -> None:
        merged: list[Notifier] = []
        while self._levels and len(self._levels[-1].paths) < 2 * len(carry):
            level = self._levels.pop()
            merged.append(level)
            carry |= level.paths & self._armed.keys()
        self._levels.append(self._notifier(carry))
        for level in merged:
            level.close()

    def _replace_levels(self, levels: list[Notifier]) -> None:
        """Start the new notifiers before stopping the old ones, so no change falls in between."""
        old, self._levels = self._levels, levels
        for level in old:
            level.close()

    def _notifier(self, directories: Iterable[str]) -> Notifier:
        """A notifier over those of `directories` that still exist (one may vanish while we look)."""
        wanted = list(directories)
        for _ in range(NOTIFIER_ATTEMPTS - 1):
            try:
                return self._start([d for d in wanted if os.path.isdir(d)])
            except FileNotFoundError:
                continue
        return self._start([d for d in wanted if os.path.isdir(d)])

    def _start(self, directories: list[str]) -> Notifier:
        return Notifier(directories, self._on_changes, self._loop, on_gap=self._on_gap)
