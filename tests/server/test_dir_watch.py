"""server.fs.dir_watch: the watcher a search session keeps its index current with, on a real inotify."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from server.fs import dir_watch
from server.fs.dir_watch import DirectoryWatcher
from tests.server.test_fs_watch import own_inotify_watches

WAIT_SECONDS = 10.0
QUIET_SECONDS = 0.3
"""How long nothing must arrive for a test to conclude that an event was not reported."""


async def next_batch(watcher: DirectoryWatcher, timeout: float = WAIT_SECONDS) -> set[str] | None:
    """The next batch, or None if none arrives within `timeout`."""
    batches = aiter(watcher)
    try:
        async with asyncio.timeout(timeout):
            return await anext(batches)
    except TimeoutError:
        return None


async def reported(watcher: DirectoryWatcher, path: Path) -> set[str]:
    """Every path reported until `path` is (bounded: fails the test after WAIT_SECONDS)."""
    seen: set[str] = set()
    async with asyncio.timeout(WAIT_SECONDS):
        async for batch in watcher:
            seen |= batch
            if str(path) in seen:
                return seen
    raise AssertionError(f"the watcher stopped before reporting {path}")


def run(scenario: Callable[[DirectoryWatcher], Awaitable[None]], content_names: tuple[str, ...] = ()) -> None:
    async def main() -> None:
        async with DirectoryWatcher(content_names) as watcher:
            await scenario(watcher)

    asyncio.run(main())


def test_entries_of_watched_directories_are_reported_and_the_watches_released(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    before = own_inotify_watches()

    async def scenario(watcher: DirectoryWatcher) -> None:
        directories = [str(tmp_path), str(tmp_path / "sub"), str(tmp_path / "sub" / "deeper")]
        assert await watcher.watch(directories) == 3
        assert await watcher.watch(directories) == 0, "a directory is watched once"
        assert own_inotify_watches() == before + 3
        created = tmp_path / "sub" / "deeper" / "f.txt"
        created.write_bytes(b"")
        await reported(watcher, created)
        created.rename(tmp_path / "moved.txt")
        assert str(created) in await reported(watcher, tmp_path / "moved.txt"), "the move's source is reported too"

    run(scenario)
    assert own_inotify_watches() == before


def test_only_the_directories_it_was_given_are_watched(tmp_path: Path) -> None:
    """The owner knows the tree: a directory it has not handed over reports nothing until it does."""
    (tmp_path / "later").mkdir()

    async def scenario(watcher: DirectoryWatcher) -> None:
        await watcher.watch([str(tmp_path)])
        (tmp_path / "later" / "unseen.txt").write_bytes(b"")
        assert await next_batch(watcher, QUIET_SECONDS) is None
        assert await watcher.watch([str(tmp_path), str(tmp_path / "later")]) == 1
        (tmp_path / "later" / "seen.txt").write_bytes(b"")
        assert str(tmp_path / "later" / "unseen.txt") not in await reported(watcher, tmp_path / "later" / "seen.txt")

    run(scenario)


def test_writes_inside_files_count_only_for_the_content_names(tmp_path: Path) -> None:
    """A build rewriting files costs nothing; a changed .gitignore may change what is listed."""
    (tmp_path / "main.rs").write_text("fn main() {}")
    (tmp_path / ".gitignore").write_text("")

    async def scenario(watcher: DirectoryWatcher) -> None:
        await watcher.watch([str(tmp_path)])
        (tmp_path / "main.rs").write_text("fn main() { loop {} }")
        assert await next_batch(watcher, QUIET_SECONDS) is None
        (tmp_path / ".gitignore").write_text("target/\n")
        assert await reported(watcher, tmp_path / ".gitignore") == {str(tmp_path / ".gitignore")}

    run(scenario, content_names=(".gitignore",))


def test_a_directory_deleted_and_made_again_is_watched_again(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir()

    async def scenario(watcher: DirectoryWatcher) -> None:
        await watcher.watch([str(tmp_path), str(directory)])
        directory.rmdir()
        seen = await reported(watcher, directory)
        assert str(directory) in seen
        async with asyncio.timeout(WAIT_SECONDS):  # the kernel drops the watch with the directory
            while watcher.watched != 1:
                await asyncio.sleep(0.01)
        directory.mkdir()
        await reported(watcher, directory)
        assert await watcher.watch([str(directory)]) == 1, "the new directory at the old path gets a watch"
        (directory / "again.txt").write_bytes(b"")
        await reported(watcher, directory / "again.txt")

    run(scenario)


def test_a_symlinked_directory_is_watched_through_its_link(tmp_path: Path) -> None:
    """Its target lives outside the root: changes there are reported under the link's path."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)

    async def scenario(watcher: DirectoryWatcher) -> None:
        await watcher.watch([str(root), str(root / "link")])
        (outside / "far.txt").write_bytes(b"")
        await reported(watcher, root / "link" / "far.txt")

    run(scenario)


def test_names_that_are_not_utf8_do_not_stop_it(tmp_path: Path) -> None:
    async def scenario(watcher: DirectoryWatcher) -> None:
        await watcher.watch([str(tmp_path)])
        bad = os.path.join(os.fsencode(tmp_path), b"bad\xff")
        os.close(os.open(bad, os.O_CREAT | os.O_WRONLY))
        await reported(watcher, Path(os.fsdecode(bad)))
        (tmp_path / "after").write_bytes(b"")
        await reported(watcher, tmp_path / "after")

    run(scenario)


def test_the_system_watch_limit_stops_adding_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """fs.inotify.max_user_watches is system-wide, so the limit is the kernel's answer, simulated here."""
    directories = []
    for index in range(4):
        (tmp_path / str(index)).mkdir()
        directories.append(str(tmp_path / str(index)))

    async def scenario(watcher: DirectoryWatcher) -> None:
        inotify = watcher._inotify
        assert inotify is not None
        real_add = inotify.add_watch
        calls = []

        def add_watch(path: str, mask: int) -> int:
            calls.append(path)
            if len(calls) > 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return int(real_add(path, mask))

        monkeypatch.setattr(inotify, "add_watch", add_watch)
        assert await watcher.watch(directories) == 2
        assert await watcher.watch(directories) == 0
        assert len(calls) == 3, "past the limit nothing more is tried"

    run(scenario)
    lines = [line for line in capsys.readouterr().err.splitlines() if "max_user_watches" in line]
    assert len(lines) == 1


def test_missing_directories_and_files_are_skipped(tmp_path: Path) -> None:
    async def scenario(watcher: DirectoryWatcher) -> None:
        assert await watcher.watch([str(tmp_path / "gone"), str(tmp_path / "file"), str(tmp_path)]) == 1

    (tmp_path / "file").write_text("")
    run(scenario)


def test_a_batch_that_outgrows_its_bound_says_anything_may_have_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dir_watch, "PENDING_PATHS_MAX", 3)

    async def scenario(watcher: DirectoryWatcher) -> None:
        await watcher.watch([str(tmp_path)])
        for index in range(8):
            (tmp_path / f"f{index}").write_bytes(b"")
        assert await next_batch(watcher) == {""}
        (tmp_path / "after").write_bytes(b"")
        assert await reported(watcher, tmp_path / "after") == {str(tmp_path / "after")}, "the next batch is exact"

    run(scenario)
