"""One-shot searches (`fuzzyFileSearch`): the per-process index cache and cancellation tokens.

Upstream walks every root on every request (~100-125 ms on 50,000 files). We keep each root's index in a
per-process cache and re-check it with one stat per directory before answering (server.search.walker
explains why that is exact), so results always reflect the filesystem at request time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from server.search.index import IndexCache, View
from server.search.matcher import LIMIT, Match, atoms, search


def search_once(cache: IndexCache, roots: Sequence[str], query: str, limit: int = LIMIT) -> list[Match]:
    """Blocking: walks or re-checks each root, then ranks. Run it in a worker thread."""
    if not atoms(query) or not roots:
        return []
    views: list[tuple[str, View]] = [(root, cache.get(root).current()) for root in roots]
    return search(views, query, limit)


class CancellationTokens:
    """Per connection: a newer request with the same token cancels the older one, which answers empty.

    The older request's worker thread is not interrupted (threads cannot be); it finishes in the
    background and its walk still fills the cache the newer request is probably waiting on.
    """

    def __init__(self, _session: object = None) -> None:
        self._holders: dict[str, asyncio.Event] = {}

    def claim(self, token: str) -> asyncio.Event:
        """Cancel the current holder of `token` and return the event that cancels the new one."""
        previous = self._holders.get(token)
        if previous is not None:
            previous.set()
        event = asyncio.Event()
        self._holders[token] = event
        return event

    def release(self, token: str, event: asyncio.Event) -> None:
        if self._holders.get(token) is event:
            del self._holders[token]

    async def aclose(self) -> None:
        for event in self._holders.values():
            event.set()
        self._holders.clear()


async def run_cancellable(cache: IndexCache, roots: Sequence[str], query: str, cancelled: asyncio.Event) -> list[Match]:
    """The search's matches, or [] as soon as `cancelled` is set."""
    work = asyncio.ensure_future(asyncio.to_thread(search_once, cache, roots, query))
    stop = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if work.done():
        return work.result()
    work.add_done_callback(_consume)
    return []


def _consume(future: asyncio.Future[list[Match]]) -> None:
    """A cancelled search's late outcome is nobody's business, but must not be logged as never retrieved."""
    if not future.cancelled():
        future.exception()
