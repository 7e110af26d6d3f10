"""Live fuzzy search sessions (`fuzzyFileSearch/session*`), one registry per connection.

A session indexes its roots once, in worker threads, publishing snapshots as the walk goes so the latest
query is answered (`sessionUpdated`) while indexing is still under way; `sessionCompleted` follows the
answer computed on the complete index. Queries are answered from memory. A query superseded while it was
being computed is dropped, and its worker thread stops at the next snapshot: only the latest one is
answered to completion.

Typing usually extends the previous query, and every entry matching the longer query matched the
shorter one (`matcher.narrows`). When the previous answer held fewer than `LIMIT` matches it was every
match there is, so the next query searches only those entries, as long as the index has not changed
since; the ranking of an entry does not depend on the others, so the answer is the one a search of the
whole index gives.

The first complete answer comes from the walk's listings, not yet ranked (server.search.index); they are
ranked right after it, and a query asked meanwhile waits for that: competing for the GIL, scans and
ranking both took several times longer. Once the queries pause (WATCH_AFTER_IDLE_SECONDS), a watcher
per root keeps the index current while the session lives (server.fs.dir_watch: one inotify watch per
directory the index walked, symlinked ones included, registered without holding the GIL): on each batch
of changes the index re-checks directory mtimes (server.search.walker), which is exact whatever the batch
holds, and the latest query is answered again if the snapshots changed. Sessions die with their
connection (`Session.scoped`).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.search.ignore import IGNORE_FILES
from server.search.index import IndexCache, RootIndex, Snapshot, View
from server.search.matcher import LIMIT, Match, Memo, Superseded, atoms, narrows, search

if TYPE_CHECKING:
    from server.fs.dir_watch import DirectoryWatcher

INLINE_ENTRIES = 16_384
"""Searches over at most this many entries run on the event loop, not in a worker thread. At 10,000
entries a search takes 0.15-1.4 ms, about what the hop to a thread and back costs, and a thread would not
free the loop meanwhile: the matcher holds the GIL, which a waiting thread gets only after the switch
interval (5 ms, sys.getswitchinterval()). Typing in a large tree gets here too once the previous answer
narrows the candidates to its matches."""

WATCH_AFTER_IDLE_SECONDS = 0.3
"""How long a session's queries must pause before its watcher starts: typing right after the first
results would otherwise wait behind the watcher's start-up (10-15 ms at 10k files)."""
WATCH_AT_THE_LATEST_SECONDS = 2.0
"""After the first complete answer, the watcher starts by then even if the queries never pause."""
CATCH_UP_ROUNDS = 4
"""Re-checks in a row while each finds new directories to watch (a tree being unpacked under the root)."""

Notify = Callable[[str, str, list[Match] | None], None]
"""(kind, query, files): kind is "updated" (with files) or "completed" (files None)."""


@dataclass(frozen=True, slots=True)
class Narrowing:
    """Every match of a query over some views: what a query that extends it needs to search."""

    atoms: list[str]
    views: list[View]
    matches: list[Match]

    def applies(self, query: list[str], views: Sequence[View]) -> bool:
        same_index = len(views) == len(self.views) and all(a is b for a, b in zip(views, self.views, strict=True))
        return same_index and narrows(self.atoms, query)

    def candidates(self, roots: Sequence[str]) -> list[tuple[str, View]]:
        """The matches as one small snapshot per root, in the roots' order (which breaks ties)."""
        by_root: dict[str, list[tuple[str, str, bool]]] = {root: [] for root in roots}
        for match in self.matches:
            by_root[match.root].append((match.path, match.file_name, match.is_dir))
        return [(root, (Snapshot.build(by_root[root]),)) for root in roots]


class SearchSession:
    """One session: its indexes, the latest query, and the task that answers it."""

    def __init__(self, session_id: str, roots: list[str], cache: IndexCache, notify: Notify) -> None:
        self.session_id = session_id
        self._roots = roots
        self._indexes = [cache.get(root) for root in roots]
        self._views: list[View] = [() for _ in roots]
        self._notify = notify
        self._query = ""
        self._cause = contextvars.copy_context()
        """The context of the request that set the latest query (server.runner: notifications emitted in a
        request's context are held until its response is written)."""
        self._query_pending = True
        """The latest query has not been answered yet (starts True: the empty query answers indexing)."""
        self._indexed = False
        self._dirty = asyncio.Event()
        self._dirty.set()
        self._last: tuple[str, list[Match]] | None = None
        self._settled = asyncio.Event()
        """Set once an answer from the complete index has gone out."""
        self._narrowing: Narrowing | None = None
        self._ranking: asyncio.Future[None] | None = None
        """Ranking the index once the first complete answer is out (server.search.index)."""
        self._memo: tuple[str, Memo] = ("", {})
        """Each part's best entries for the latest query searched (matcher.search's memo)."""
        self._stopped = False
        self._loop = asyncio.get_running_loop()
        self._last_update = self._loop.time()
        self._tasks = [asyncio.create_task(self._answer_loop(), name=f"fuzzy-search {session_id}")]
        self._tasks.append(asyncio.create_task(self._index(), name=f"fuzzy-index {session_id}"))

    def update(self, query: str) -> None:
        """Called by the `sessionUpdate` handler: what answers the query is sent in that request's context,
        so the runner writes it after that request's response, in a write of its own."""
        self._last_update = self._loop.time()
        self._query = query
        self._cause = contextvars.copy_context()
        self._query_pending = True
        self._dirty.set()

    async def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _index(self) -> None:
        loop = asyncio.get_running_loop()

        def progress_of(position: int) -> Callable[[View], None]:
            def progress(view: View) -> None:
                loop.call_soon_threadsafe(self._publish, position, view)

            return progress

        views = await asyncio.gather(
            *(asyncio.to_thread(index.current, progress_of(i)) for i, index in enumerate(self._indexes)),
            return_exceptions=True,
        )
        for position, view in enumerate(views):
            if isinstance(view, BaseException):
                self._log(f"indexing {self._roots[position]} failed: {type(view).__name__}: {view}")
            else:
                self._views[position] = view
        self._indexed = True
        self._dirty.set()
        # Starting the watcher costs the loop a share of the GIL (its imports, then a re-check of every
        # directory's mtime: 20-30 ms at 200,000 files), so the complete answer goes out first and the
        # watcher waits for a pause in the typing; the re-check after the watcher is up covers changes made
        # in between.
        await self._settled.wait()
        assert self._ranking is not None
        await self._ranking
        latest = self._loop.time() + WATCH_AT_THE_LATEST_SECONDS
        while (idle := self._loop.time() - self._last_update) < WATCH_AFTER_IDLE_SECONDS:
            if self._loop.time() >= latest:
                break
            await asyncio.sleep(WATCH_AFTER_IDLE_SECONDS - idle)
        await self._watch()

    async def _rank(self) -> None:
        """Rank every root's listings in a worker thread, then search the ranked views."""
        ranked = await asyncio.to_thread(lambda: [index.rank() for index in self._indexes])
        self._adopt([(position, view) for position, view in enumerate(ranked) if view is not None], answer=False)

    def _publish(self, position: int, view: View) -> None:
        if not self._indexed:
            self._views[position] = view
            self._dirty.set()

    async def _watch(self) -> None:
        positions: dict[str, list[int]] = {}
        for position, root in enumerate(self._roots):
            if os.path.isabs(root) and os.path.isdir(root):
                positions.setdefault(root, []).append(position)
        await asyncio.gather(*(self._watch_root(root, positions[root]) for root in sorted(positions)))

    async def _watch_root(self, root: str, positions: list[int]) -> None:
        """Watch the directories the index walked, then catch up with what changed before the watches
        were in place; catch up again after each batch of changes."""
        from server.fs.dir_watch import DirectoryWatcher

        index = self._indexes[positions[0]]
        try:
            async with DirectoryWatcher(content_names=IGNORE_FILES) as watcher:
                await watcher.watch(await asyncio.to_thread(index.directories))
                await self._catch_up(watcher, index, positions)
                async for _ in watcher:
                    await self._catch_up(watcher, index, positions)
        except Exception as exc:  # the session keeps answering from what it has; say why it stopped watching
            self._log(f"stopped watching {root}: {type(exc).__name__}: {exc}")

    async def _catch_up(self, watcher: DirectoryWatcher, index: RootIndex, positions: list[int]) -> None:
        """Re-check the root, then watch the directories the re-check found; re-check again while it finds
        some, for what changed in them before their watch (bounded: changes that go on arrive as batches)."""
        for _ in range(CATCH_UP_ROUNDS):
            await asyncio.to_thread(self._refresh, positions)
            if not await watcher.watch(await asyncio.to_thread(index.directories)):
                return

    def _log(self, message: str) -> None:
        print(f"app-server: fuzzy search session {self.session_id}: {message}", file=sys.stderr, flush=True)

    def _refresh(self, positions: list[int]) -> None:
        """Worker thread: re-check the roots at these positions (one root, maybe given more than once),
        hand changed segments to the loop, then rank them."""
        changed = []
        for position in positions:
            index = self._indexes[position]
            index.refresh()
            if index.view is not None and index.view is not self._views[position]:
                changed.append((position, index.view))
        if not changed:
            return
        self._loop.call_soon_threadsafe(self._adopt, changed)
        # The change is answered from the listings first; the keystrokes after it want ranks.
        ranked = [(position, view) for position, _ in changed if (view := self._indexes[position].rank()) is not None]
        self._loop.call_soon_threadsafe(self._adopt, ranked, False)

    def _adopt(self, changed: list[tuple[int, View]], answer: bool = True) -> None:
        """Search these views from now on; `answer` the latest query again (not when they are the same
        entries, ranked)."""
        for position, view in changed:
            self._views[position] = view
        if answer:
            self._dirty.set()

    async def _answer_loop(self) -> None:
        """Answer the latest query whenever it, or the index, changes.

        `sessionUpdated` goes out for every query asked, for every step of indexing that changed the
        answer, and when a change on disk changed the answer; `sessionCompleted` follows once the answer
        comes from the complete index and nothing newer is waiting.
        """
        while True:
            await self._dirty.wait()
            await asyncio.sleep(0)  # one turn first: the writer sends the update's response before we search
            self._dirty.clear()
            if self._ranking is not None and not self._ranking.done():
                await asyncio.shield(self._ranking)  # its few hundred ms at most are cheaper than scans racing it
            query, due, complete = self._query, self._query_pending, self._indexed
            views = list(self._views)
            try:
                files = await self._search(views, query) if atoms(query) else []
            except Superseded:
                continue  # the newer query has set `_dirty`: it is answered next
            except Exception as exc:  # a bug must cost one answer, not the session
                self._log(f"query {query!r} failed: {type(exc).__name__}: {exc}")
                files = []
            if query != self._query:
                continue  # superseded while computing: only the latest query is answered
            self._narrowing = self._narrowing_for(query, views, files)
            changed = self._last != (query, files)
            # While indexing, an update is news only if it found something (or answers the empty query).
            if (due or changed) if complete else (changed and (files or not atoms(query))):
                self._cause.run(self._notify, "updated", query, files)
                self._last = (query, files)
            if complete and (due or changed) and not self._dirty.is_set():
                self._query_pending = False
                self._cause.run(self._notify, "completed", query, None)
            if complete and self._ranking is None:  # set before any later query is searched
                self._ranking = asyncio.ensure_future(self._rank())
                self._settled.set()

    async def _search(self, views: list[View], query: str) -> list[Match]:
        """The query's matches, from the previous answer's matches when that is exact: on the loop when
        they are few (INLINE_ENTRIES), else in a worker thread."""
        narrowing = self._narrowing
        if narrowing is not None and narrowing.applies(atoms(query), views):
            candidates = narrowing.candidates(self._roots)
        else:
            candidates = list(zip(self._roots, views, strict=True))
        if self._memo[0] != query:
            self._memo = (query, {})
        memo = self._memo[1]
        if sum(len(snapshot) for _, view in candidates for snapshot in view) <= INLINE_ENTRIES:
            return search(candidates, query, memo=memo)
        return await asyncio.to_thread(
            search, candidates, query, superseded=lambda: self._stopped or self._query != query, memo=memo
        )

    def _narrowing_for(self, query: str, views: list[View], files: list[Match]) -> Narrowing | None:
        """What the next query may search instead of the index: all of this answer, if it is all there is.

        A root given twice would need its matches told apart by position, which a match does not carry.
        """
        parsed = atoms(query)
        if not parsed or len(files) >= LIMIT or len(set(self._roots)) != len(self._roots):
            return None
        return Narrowing(parsed, views, files)


class SearchSessions:
    """The sessions of one connection, by id."""

    def __init__(self, cache: IndexCache, notify: Callable[[str, str, str, list[Match] | None], None]) -> None:
        self._cache = cache
        self._notify = notify
        self._sessions: dict[str, SearchSession] = {}

    async def start(self, session_id: str, roots: list[str]) -> None:
        """Start (or restart, as upstream does for a known id) a session."""
        old = self._sessions.pop(session_id, None)
        if old is not None:
            await old.stop()

        def notify(kind: str, query: str, files: list[Match] | None) -> None:
            self._notify(session_id, kind, query, files)

        self._sessions[session_id] = SearchSession(session_id, roots, self._cache, notify)

    def get(self, session_id: str) -> SearchSession | None:
        return self._sessions.get(session_id)

    async def stop(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            await session.stop()

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(session.stop() for session in sessions), return_exceptions=True)
