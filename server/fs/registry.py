"""The fs/watch registry of one connection: watch ids, what each needs watched, coalesced delivery.

Upstream watches inodes, which is why its file watch dies after the first atomic replace (the inode it
watched is gone) and why two watches reaching one directory through a symlink clobber each other (one
inotify descriptor per inode, one path remembered for it). Here every watch is expressed as directories
to watch by real path (symlinks resolved, so one descriptor per directory however it is named) plus a
filter: a file is watched through its parent directory, so a rename over it is just another change of
that directory entry; a directory is watched itself (its children) and through its parent (itself).
Changed paths are mapped back to the path the client asked for, symlinks and all.

A target whose parent does not exist yet is watched through its nearest existing ancestor; a change on
the way down (a directory created) makes the registry resolve the watch again and move it deeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from server.fs.watch import DirectorySet
from server.protocol.errors import InvalidRequest
from server.protocol.fs import FsChangedNotification

WINDOW_SECONDS = 0.01
"""After the first change of a quiet watch, how long more changes are gathered into the same notification
(on top of the ~10-20 ms the notifier itself groups). Upstream waits ~200 ms."""

MIN_INTERVAL_SECONDS = 0.1
"""Least time between two notifications of one watch, so a burst of writes gives a few notifications,
each listing every path changed since the previous one, not one per write."""

Emit = Callable[[FsChangedNotification], None]


class DuplicateWatchId(InvalidRequest):
    """The connection already has a watch with this id (upstream's -32600 and wording)."""

    def __init__(self, watch_id: str) -> None:
        super().__init__(f"watchId already exists: {watch_id}")


@dataclass(frozen=True, slots=True)
class Subscription:
    watch_id: str
    path: str
    """What the client asked for (normalized lexically); every reported path starts with it."""
    selves: frozenset[str]
    """Real paths that are the target itself: its directory entry and, for a symlink, what it points to."""
    children_of: str | None
    """Real path of the target when it is a directory: changes of its direct children are reported."""
    directories: frozenset[str]
    """Directories that must be watched to see all of the above."""
    triggers: frozenset[str]
    """Paths whose change may alter the above (the target, missing ancestors): resolve again."""
    exists: bool


def resolve(watch_id: str, path: str) -> Subscription:
    """What watching `path` takes right now. It looks at the disk, but only a few stat calls' worth, so it
    runs on the event loop: a worker-thread hop would cost more than the work."""
    parent, name = posixpath.split(path)
    entry = posixpath.join(posixpath.realpath(parent), name) if name else "/"
    target = posixpath.realpath(path)
    is_directory = posixpath.isdir(target)
    selves = frozenset({entry, target})
    directories = {target} if is_directory else set()
    triggers = set(selves)
    for own in selves:
        child, ancestor = own, posixpath.dirname(own)
        while ancestor != child and not posixpath.isdir(ancestor):
            child, ancestor = ancestor, posixpath.dirname(ancestor)
        directories.add(ancestor)
        triggers.add(child)
    return Subscription(
        watch_id=watch_id,
        path=path,
        selves=selves,
        children_of=target if is_directory else None,
        directories=frozenset(directories),
        triggers=frozenset(triggers),
        exists=posixpath.lexists(path),
    )


IndexKey = tuple[str, str]
"""("self" | "children" | "trigger", real path): how a changed path concerns a watch."""


def _index_keys(subscription: Subscription) -> list[IndexKey]:
    keys = [("self", path) for path in subscription.selves] + [("trigger", path) for path in subscription.triggers]
    if subscription.children_of is not None:
        keys.append(("children", subscription.children_of))
    return keys


class WatchRegistry:
    """Watches of one connection; `aclose()` (run when the connection ends) releases every OS handle."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        self._directories = DirectorySet(self._on_changes, self._loop, self._on_gap)
        self._lock = asyncio.Lock()
        self._subscriptions: dict[str, Subscription | None] = {}
        """None while a watch is being set up: its id is taken, nothing is delivered yet."""
        self._index: dict[IndexKey, set[str]] = {}
        self._pending: dict[str, dict[str, None]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._last_sent: dict[str, float] = {}
        self._to_resolve: set[str] = set()
        self._resolver: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def watch_ids(self) -> list[str]:
        return [watch_id for watch_id, sub in self._subscriptions.items() if sub is not None]

    @property
    def notifiers(self) -> int:
        """OS watchers (each an inotify instance and two threads) currently open for this connection."""
        return self._directories.notifiers

    async def watch(self, watch_id: str, path: str) -> None:
        """Returns once changes of `path` are being delivered."""
        if watch_id in self._subscriptions:
            raise DuplicateWatchId(watch_id)
        self._subscriptions[watch_id] = None
        subscription = resolve(watch_id, path)
        try:
            async with self._lock:
                if self._closed or watch_id not in self._subscriptions:
                    return
                self._set(watch_id, subscription)
                await asyncio.to_thread(self._directories.acquire, subscription.directories)
        except BaseException:  # refused by the OS, or cancelled: the id is free again
            current = self._subscriptions.get(watch_id)
            if current is None or current is subscription:
                self._set(watch_id, None)
            raise

    async def unwatch(self, watch_id: str) -> None:
        """Delivery for `watch_id` stops before this returns; unknown ids are ignored."""
        subscription = self._subscriptions.get(watch_id)
        self._set(watch_id, None)
        self._drop_pending(watch_id)
        self._last_sent.pop(watch_id, None)
        if subscription is None:
            return
        async with self._lock:
            await asyncio.to_thread(self._directories.release, subscription.directories)

    async def aclose(self) -> None:
        self._closed = True
        self._subscriptions.clear()
        self._index.clear()
        for watch_id in list(self._timers):
            self._drop_pending(watch_id)
        if self._resolver is not None:
            self._resolver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resolver
        async with self._lock:
            await asyncio.to_thread(self._directories.close)

    # ------------------------------------------------------------------------------------ delivery

    def _on_changes(self, changed: set[str]) -> None:
        """Runs on the event loop for every batch from any notifier of this connection."""
        for real in sorted(changed):
            parent, name = posixpath.split(real)
            for watch_id in self._index.get(("self", real), ()):
                self._add(watch_id, self._path_of(watch_id))
            for watch_id in self._index.get(("children", parent), ()):
                self._add(watch_id, posixpath.join(self._path_of(watch_id), name))
            for watch_id in self._index.get(("trigger", real), ()):
                self._schedule_resolve(watch_id)

    def _on_gap(self, directories: frozenset[str]) -> None:
        """A notifier failed and was recreated over `directories`: changes in between went unseen.

        Upstream 0.163 reports nothing then (its notify watcher skips what it cannot name and goes on), but
        here the failed batch is lost, names and all. Each watch that depends on one of those directories
        reports its own path, the one thing it is sure may have changed, so a client rescans it rather than
        trust a listing that may be stale; and the watch is resolved again, in case its target came or went.
        """
        for watch_id, subscription in list(self._subscriptions.items()):
            if subscription is not None and subscription.directories & directories:
                self._add(watch_id, subscription.path)
                self._schedule_resolve(watch_id)

    def _path_of(self, watch_id: str) -> str:
        subscription = self._subscriptions[watch_id]
        assert subscription is not None
        return subscription.path

    def _set(self, watch_id: str, subscription: Subscription | None) -> None:
        """Replace a watch's subscription, keeping the lookup index (real path -> watch ids) in step."""
        old = self._subscriptions.get(watch_id)
        if old is not None:
            for key in _index_keys(old):
                ids = self._index[key]
                ids.discard(watch_id)
                if not ids:
                    del self._index[key]
        if subscription is None:
            self._subscriptions.pop(watch_id, None)
            return
        self._subscriptions[watch_id] = subscription
        for key in _index_keys(subscription):
            self._index.setdefault(key, set()).add(watch_id)

    def _add(self, watch_id: str, path: str) -> None:
        self._pending.setdefault(watch_id, {})[path] = None
        if watch_id not in self._timers:
            now = self._loop.time()
            last = self._last_sent.get(watch_id)
            delay = WINDOW_SECONDS if last is None else max(WINDOW_SECONDS, last + MIN_INTERVAL_SECONDS - now)
            self._timers[watch_id] = self._loop.call_later(delay, self._flush, watch_id)

    def _flush(self, watch_id: str) -> None:
        self._timers.pop(watch_id, None)
        paths = self._pending.pop(watch_id, None)
        if not paths or self._subscriptions.get(watch_id) is None:
            return
        self._last_sent[watch_id] = self._loop.time()
        self._emit(FsChangedNotification(watch_id=watch_id, changed_paths=list(paths)))

    def _drop_pending(self, watch_id: str) -> None:
        timer = self._timers.pop(watch_id, None)
        if timer is not None:
            timer.cancel()
        self._pending.pop(watch_id, None)

    # ------------------------------------------------------------------------------ re-resolution

    def _schedule_resolve(self, watch_id: str) -> None:
        self._to_resolve.add(watch_id)
        if self._resolver is None or self._resolver.done():
            self._resolver = asyncio.create_task(self._resolve_pending())

    async def _resolve_pending(self) -> None:
        while self._to_resolve and not self._closed:
            batch, self._to_resolve = self._to_resolve, set()
            async with self._lock:
                for watch_id in batch:
                    try:
                        await self._resolve_again(watch_id)
                    except OSError as exc:  # e.g. the inotify watch limit: keep the others going, say why
                        print(f"app-server: cannot follow watch {watch_id!r}: {exc}", file=sys.stderr, flush=True)

    async def _resolve_again(self, watch_id: str) -> None:
        """Follow a target that appeared, vanished or was replaced: re-derive its directories, watch new
        ones, and report the target if it came into existence while we were only watching an ancestor
        (its own creation event may have happened before the deeper directory was watched)."""
        old = self._subscriptions.get(watch_id)
        if old is None:
            return
        new = resolve(watch_id, old.path)
        self._set(watch_id, new)
        added, removed = new.directories - old.directories, old.directories - new.directories
        await asyncio.to_thread(self._update_directories, added, removed, new.directories)
        if new.exists and not old.exists and self._subscriptions.get(watch_id) is new:
            self._add(watch_id, new.path)

    def _update_directories(self, added: Iterable[str], removed: Iterable[str], kept: Iterable[str]) -> None:
        self._directories.acquire(added)
        self._directories.release(removed)
        self._directories.rearm(kept)
