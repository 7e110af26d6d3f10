"""The watch machinery without a server: registry lifetime, OS handle release, notifier merging."""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from server.fs.registry import WatchRegistry, resolve
from server.fs.watch import DirectorySet
from server.protocol.fs import FsChangedNotification

WAIT_SECONDS = 10.0


def own_inotify_watches() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fdinfo"):
        try:
            count += Path(f"/proc/self/fdinfo/{fd}").read_text().count("inotify wd:")
        except OSError:
            continue
    return count


def watcher_threads() -> int:
    """Our drain threads plus notify's reader threads (named by Rust, visible in /proc)."""
    rust = 0
    for task in os.listdir("/proc/self/task"):
        try:
            rust += Path(f"/proc/self/task/{task}/comm").read_text().startswith("notify-rs")
        except OSError:
            continue
    ours = sum(thread.name == "fs-notifier" for thread in threading.enumerate())
    return rust + ours


def settles_to(probe: Callable[[], int], expected: int) -> bool:
    """Bounded wait: notify closes its reader thread and inotify descriptor just after close() returns."""
    for _ in range(200):
        if probe() == expected:
            return True
        time.sleep(0.025)
    return probe() == expected


def baseline() -> tuple[int, int]:
    """Watcher threads and inotify watches of this process once earlier tests' watchers have wound down."""
    settles_to(watcher_threads, 0)
    settles_to(own_inotify_watches, 0)
    return watcher_threads(), own_inotify_watches()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():
            await asyncio.sleep(0.01)


def test_closing_the_registry_releases_every_thread_and_inotify_watch(tmp_path: Path) -> None:
    threads_before, watches_before = baseline()
    sent: list[FsChangedNotification] = []

    async def scenario() -> None:
        registry = WatchRegistry(sent.append)
        for index in range(20):
            (tmp_path / f"d{index}").mkdir()
            await registry.watch(f"dir{index}", str(tmp_path / f"d{index}"))
            await registry.watch(f"missing{index}", str(tmp_path / f"nope{index}" / "file"))
        assert registry.notifiers > 0
        assert watcher_threads() > threads_before
        (tmp_path / "d3" / "child").write_bytes(b"")
        child = str(tmp_path / "d3" / "child")
        await until(lambda: any(n.watch_id == "dir3" and child in n.changed_paths for n in sent))
        await registry.aclose()
        assert registry.notifiers == 0

    asyncio.run(scenario())
    assert settles_to(watcher_threads, threads_before)
    assert settles_to(own_inotify_watches, watches_before)
    reported = {path for n in sent if n.watch_id == "dir3" for path in n.changed_paths}
    assert reported <= {str(tmp_path / "d3"), str(tmp_path / "d3" / "child")}


def test_unwatch_releases_what_the_watch_held(tmp_path: Path) -> None:
    async def scenario() -> None:
        registry = WatchRegistry(lambda _: None)
        await registry.watch("a", str(tmp_path))
        await registry.unwatch("a")
        await registry.unwatch("a")
        assert registry.notifiers == 0
        assert registry.watch_ids == []
        await registry.aclose()

    asyncio.run(scenario())


def test_notifiers_stay_logarithmic_as_directories_are_added_one_by_one(tmp_path: Path) -> None:
    directories = []
    for index in range(100):
        directory = tmp_path / f"d{index:03}"
        directory.mkdir()
        directories.append(str(directory))

    async def scenario() -> None:
        watched = DirectorySet(lambda _: None, asyncio.get_running_loop())
        most = 0
        for directory in directories:
            watched.acquire([directory])
            most = max(most, watched.notifiers)
        assert most <= math.log2(len(directories)) + 1
        watched.release(directories[:80])
        assert watched.notifiers == 1
        watched.release(directories[80:])
        assert watched.notifiers == 0
        watched.close()

    asyncio.run(scenario())


def test_a_directory_replaced_at_the_same_path_is_watched_again(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    sent: list[FsChangedNotification] = []

    async def scenario() -> None:
        registry = WatchRegistry(sent.append)
        await registry.watch("d", str(directory))
        directory.rename(tmp_path / "moved-away")
        await until(lambda: any(str(directory) in n.changed_paths for n in sent))
        directory.mkdir()
        await until(lambda: registry.notifiers > 0 and resolve("d", str(directory)).children_of is not None)
        await asyncio.sleep(0.2)
        (directory / "inside-the-new-one").write_bytes(b"")
        await until(lambda: any(str(directory / "inside-the-new-one") in n.changed_paths for n in sent))
        await registry.aclose()

    asyncio.run(scenario())


def test_resolve_watches_a_file_through_its_real_parent(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    subscription = resolve("w", str(tmp_path / "link" / "f.txt"))
    assert subscription.path == str(tmp_path / "link" / "f.txt")
    assert subscription.selves == {str(tmp_path / "real" / "f.txt")}
    assert subscription.directories == {str(tmp_path / "real")}
    assert subscription.children_of is None
    assert not subscription.exists


def test_resolve_watches_a_missing_target_through_its_nearest_ancestor(tmp_path: Path) -> None:
    subscription = resolve("w", str(tmp_path / "a" / "b" / "f.txt"))
    assert subscription.directories == {str(tmp_path)}
    assert str(tmp_path / "a") in subscription.triggers


def _create_non_utf8_file(directory: Path) -> None:
    """A name watchfiles cannot decode: its RustNotify fails for good, the way any watcher error does."""
    os.close(os.open(os.path.join(os.fsencode(directory), b"bad\xff"), os.O_CREAT | os.O_WRONLY))


def test_a_watcher_error_recreates_the_watcher_and_reports_the_gap(tmp_path: Path) -> None:
    """Changes in the failed batch are lost, names and all: every watch over the failed directories reports
    its own path once (its client rescans it), then later changes arrive as usual."""
    directory = tmp_path / "d"
    directory.mkdir()
    watched_file = directory / "notes.txt"
    watched_file.write_text("x")
    sent: list[FsChangedNotification] = []

    def reports(watch_id: str, path: Path) -> list[FsChangedNotification]:
        return [n for n in sent if n.watch_id == watch_id and str(path) in n.changed_paths]

    async def scenario() -> None:
        registry = WatchRegistry(sent.append)
        await registry.watch("dir", str(directory))
        await registry.watch("file", str(watched_file))
        _create_non_utf8_file(directory)
        await until(lambda: bool(reports("dir", directory) and reports("file", watched_file)))
        (directory / "after").write_bytes(b"")
        await until(lambda: bool(reports("dir", directory / "after")))
        watched_file.write_text("y")
        await until(lambda: len(reports("file", watched_file)) == 2)
        await registry.aclose()

    asyncio.run(scenario())
    assert all("\udcff" not in path for n in sent for path in n.changed_paths)
