"""Sessions and one-shot plumbing, driven directly on an event loop (no server process)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from server.search import oneshot, sessions
from server.search.index import IndexCache, Listing, RootIndex, Snapshot
from server.search.matcher import Match
from server.search.sessions import SearchSession, SearchSessions

Event = tuple[str, str, list[str] | None]


def make(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    return root


class Recorder:
    """Collects a session's notifications and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changed = asyncio.Event()

    def __call__(self, kind: str, query: str, files: list[Match] | None) -> None:
        self.events.append((kind, query, None if files is None else [match.path for match in files]))
        self.changed.set()

    async def wait(self, kind: str, query: str | None = None, has: str | None = None) -> Event:
        async with asyncio.timeout(10):
            while True:
                for event in self.events:
                    if event[0] == kind and query in (None, event[1]) and (has is None or has in (event[2] or [])):
                        return event
                self.changed.clear()
                await self.changed.wait()


def test_only_the_latest_of_rapid_queries_is_completed(tmp_path: Path) -> None:
    make(tmp_path, "src/render.rs", "src/reader.rs")

    async def scenario() -> list[Event]:
        recorder = Recorder()
        session = SearchSession("s", [str(tmp_path)], IndexCache(), recorder)
        await recorder.wait("completed")
        for query in ("r", "re", "ren", "rend", "render"):
            session.update(query)  # no await in between: each supersedes the last before it is answered
        await recorder.wait("updated", "render", has="src/render.rs")
        await recorder.wait("completed")
        await session.stop()
        return recorder.events

    events = asyncio.run(scenario())
    answered = [query for kind, query, _ in events if kind == "updated" and query]
    assert answered == ["render"]
    assert [kind for kind, _, _ in events].count("completed") == 2


def test_indexing_streams_answers_before_it_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("server.search.index.SEGMENT_ENTRIES", 10)
    make(tmp_path, *(f"d{d}/needle_{i}.txt" for d in range(6) for i in range(10)))

    async def scenario() -> list[Event]:
        recorder = Recorder()
        session = SearchSession("s", [str(tmp_path)], IndexCache(), recorder)
        session.update("needle")
        await recorder.wait("completed")
        await session.stop()
        return recorder.events

    events = asyncio.run(scenario())
    sizes = [len(files or []) for kind, query, files in events if kind == "updated" and query == "needle"]
    assert len(sizes) >= 2
    assert sizes == sorted(sizes)
    assert sizes[-1] == 50
    assert events[-1][0] == "completed"


def test_stopping_every_session_releases_them(tmp_path: Path) -> None:
    make(tmp_path, "a.txt")
    sent: list[tuple[str, str]] = []

    async def scenario() -> None:
        sessions = SearchSessions(IndexCache(), lambda sid, kind, query, files: sent.append((sid, kind)))
        await sessions.start("one", [str(tmp_path)])
        await sessions.start("two", [str(tmp_path)])
        await sessions.aclose()
        assert sessions.get("one") is None
        assert sessions.get("two") is None

    asyncio.run(scenario())


def test_a_newer_claim_on_a_token_cancels_the_older(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, "a.txt")
    release = threading.Event()
    real = oneshot.search_once

    def slow(*args: Any) -> list[Match]:
        release.wait(10)
        return real(*args)

    monkeypatch.setattr(oneshot, "search_once", slow)

    async def scenario() -> tuple[list[Match], list[Match]]:
        tokens = oneshot.CancellationTokens()
        cache = IndexCache()
        first = asyncio.ensure_future(oneshot.run_cancellable(cache, [str(tmp_path)], "a", tokens.claim("t")))
        await asyncio.sleep(0.01)
        second_event = tokens.claim("t")
        older = await asyncio.wait_for(first, 5)  # answers at once, while its worker is still blocked
        release.set()
        newer = await oneshot.run_cancellable(cache, [str(tmp_path)], "a", second_event)
        return older, newer

    older, newer = asyncio.run(scenario())
    assert older == []
    assert [match.path for match in newer] == ["a.txt"]


def test_cache_keeps_a_bounded_number_of_roots(tmp_path: Path) -> None:
    cache = IndexCache(capacity=2)
    first = cache.get(str(tmp_path / "one"))
    assert cache.get(str(tmp_path / "one")) is first
    cache.get(str(tmp_path / "two"))
    cache.get(str(tmp_path / "three"))
    assert cache.get(str(tmp_path / "one")) is not first


def test_root_index_rebuilds_only_when_entries_change(tmp_path: Path) -> None:
    make(tmp_path, "a.txt")
    index = RootIndex(str(tmp_path))
    view = index.current()
    index.current()  # racy directories are re-read, yet nothing appeared or vanished
    assert index.current() is view
    make(tmp_path, "b.txt")
    assert index.refresh() is True
    assert index.view is not view
    ranked = [part.ranked() if isinstance(part, Listing) else part for part in index.current()]
    assert sorted(path for snap in ranked for path in snap.paths) == ["a.txt", "b.txt"]


def test_an_extended_query_after_an_index_change_sees_the_change(tmp_path: Path) -> None:
    """The previous answer is searched instead of the index only while the index is the one it came from."""
    make(tmp_path, "src/zeta.rs", "src/zeta_old.rs")

    async def scenario() -> Event:
        recorder = Recorder()
        session = SearchSession("s", [str(tmp_path)], IndexCache(), recorder)
        session.update("zeta")
        await recorder.wait("completed", "zeta")
        make(tmp_path, "src/zeta_new.rs")
        await recorder.wait("updated", "zeta", has="src/zeta_new.rs")
        session.update("zetan")
        answer = await recorder.wait("updated", "zetan")
        await session.stop()
        return answer

    assert asyncio.run(scenario())[2] == ["src/zeta_new.rs"]


def test_the_watcher_waits_for_a_pause_in_typing_but_not_forever(tmp_path: Path) -> None:
    """Keystrokes right after the first results do not wait behind the watcher's start-up, and a client
    that never pauses still gets one at WATCH_AT_THE_LATEST_SECONDS. Answers come from memory, so a file
    created after the first results shows up only once the watcher is up and has re-checked the tree."""
    make(tmp_path, "src/render.rs")
    late = "late/render_late.rs"

    async def scenario() -> float:
        recorder = Recorder()
        session = SearchSession("s", [str(tmp_path)], IndexCache(), recorder)
        loop = asyncio.get_running_loop()
        session.update("render")
        await recorder.wait("completed", "render")
        settled = loop.time()
        make(tmp_path, late)
        keystroke = sessions.WATCH_AFTER_IDLE_SECONDS / 3
        for typed in range(int((sessions.WATCH_AT_THE_LATEST_SECONDS + 6) / keystroke)):  # bounded
            if any(late in (files or []) for _, _, files in recorder.events):
                break
            session.update("render" if typed % 2 else "rende")
            await asyncio.sleep(keystroke)
        seen_after = loop.time() - settled
        await session.stop()
        return seen_after

    seen_after = asyncio.run(scenario())
    assert seen_after >= sessions.WATCH_AT_THE_LATEST_SECONDS - 0.1, "the watcher started while the client typed"
    assert seen_after < sessions.WATCH_AT_THE_LATEST_SECONDS + 6, "the watcher never started"


def test_the_first_complete_answer_comes_from_listings_and_ranking_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk's listings answer first; ranking them waits until that answer is out, merges the walk's
    segments, and a query asked while they are ranked waits for the ranks instead of racing them."""
    monkeypatch.setattr("server.search.index.SEGMENT_ENTRIES", 10)
    make(tmp_path, "pkg0/render.rs", *(f"pkg{d}/file_{i}.txt" for d in range(5) for i in range(20)))
    cache = IndexCache()
    parts_at_first_answer: list[bool] = []

    def unranked() -> bool:
        view = cache.get(str(tmp_path)).view or ()
        return any(isinstance(part, Listing) and part.raw is not None for part in view)

    async def scenario() -> Event:
        recorder = Recorder()

        def notify(kind: str, query: str, files: list[Match] | None) -> None:
            if kind == "completed" and not parts_at_first_answer:
                parts_at_first_answer.append(unranked())
            recorder(kind, query, files)

        session = SearchSession("s", [str(tmp_path)], cache, notify)
        session.update("render")
        await recorder.wait("completed", "render")
        session.update("r")  # asked at once: answered once the listings are ranked
        answer = await recorder.wait("updated", "r")
        for _ in range(500):  # the session ranks what a query did not (bounded: 5 s at most)
            if not unranked():
                break
            await asyncio.sleep(0.01)
        assert not unranked()
        assert [type(part) for part in cache.get(str(tmp_path)).view or ()] == [Snapshot]
        await session.stop()
        return answer

    answer = asyncio.run(scenario())
    assert parts_at_first_answer == [True]
    assert answer[2] is not None
    assert answer[2][0] == "pkg0/render.rs"


def test_the_watcher_follows_new_directories_and_symlinked_ones(tmp_path: Path) -> None:
    """A directory that appears while the session lives is watched in its turn, and a symlinked directory
    whose target lives outside the root is watched through its link."""
    root = make(tmp_path / "root", "src/render.rs")
    outside = make(tmp_path / "outside", "near_render.rs")
    (root / "link").symlink_to(outside, target_is_directory=True)

    async def scenario() -> None:
        recorder = Recorder()
        session = SearchSession("s", [str(root)], IndexCache(), recorder)
        session.update("render")
        await recorder.wait("completed", "render")
        make(root, "fresh/one_render.rs")  # seen once the watcher is up (its first re-check, at the latest)
        await recorder.wait("updated", "render", has="fresh/one_render.rs")
        make(root, "fresh/two_render.rs")  # only `fresh`'s own watch reports this one
        await recorder.wait("updated", "render", has="fresh/two_render.rs")
        make(outside, "far_render.rs")
        await recorder.wait("updated", "render", has="link/far_render.rs")
        await session.stop()

    asyncio.run(scenario())
