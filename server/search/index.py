"""What a search reads: immutable snapshots of one root's entries, and the per-root index that makes them.

A `Snapshot` stores entries in the orders the matcher ranks by, so the matcher can stop scanning as soon as
it has enough results: paths sorted by (length, path), and the same entries by (name length, path length,
path). Lower-cased copies are joined into one newline-separated string per order so that `re` scans them
in C instead of Python looping over 50,000 strings.

A walk does not build snapshots: sorting and joining every entry costs more than the walk itself (300-400
against 200-250 ms at 200,000 files on a 2-core machine), and the first answer of a fresh index does not
need it. The walk keeps `Listing`s instead, a few C-level joins per directory: the entries as one
newline-separated string, in walk order, which `server.search.matcher` scans tier by tier (10-35 ms per
query at 200,000 files, against 1-10 ms on snapshots). An atom held by too many entries for a scan to pay
ranks the listing into a `Snapshot` once, and a session ranks its listings right after its first complete
answer (server.search.sessions); one-shot searches keep scanning.

A `RootIndex` owns one root's `Tree` and its current parts ("segments": a walk in progress publishes one
per batch so sessions can answer before it ends). `current()` re-checks directory mtimes and re-lists
only when something appeared or vanished, which is what makes a repeated one-shot search cost a few
milliseconds instead of a full walk. `IndexCache` keeps a few of them per server process.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate

from server.search import helper
from server.search.walker import Columns, DirNode, Tree

SEGMENT_ENTRIES = 8192
"""Entries per segment published while a walk someone watches is in progress (about 10 ms of walking
each)."""

LARGEST_SNAPSHOT = 65_536
"""Entries per segment otherwise. Fewer, bigger snapshots are cheaper to search, but ranking one sorts
in a single C call that holds the GIL throughout, stalling the event loop: over a 200,000-entry walk in a
thread, the loop's worst delay went from 83-91 ms (one snapshot) to 25-43 ms (four), on a busy 2-core
machine, while the cheapest queries got 0.6 ms slower and the costliest 10-30% faster."""

CACHED_ROOTS = 8
"""Roots whose index a server process keeps for one-shot searches (least recently used goes first)."""

Entry = tuple[str, str, bool]

SEPARATORS = "_-. +@#%&=~,;()[]{}'!$^`"
"""Characters after which a new word of a file name starts (checked by presence, which is much cheaper
than collecting every character of 50,000 names)."""


def lower_same_length(text: str) -> str:
    """Lower case without changing length, so match positions index the original string too."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(char if len(low := char.lower()) != 1 else low for char in text)


def _lines(strings: list[str]) -> tuple[str, list[str]]:
    """The lower-cased strings joined one per line, and the lower-cased strings themselves.

    Lower-casing one joined string is much faster than 50,000 calls; it is only taken when no character
    changed length (`str.lower` can only grow a string) and no name holds a newline (legal on Linux).
    """
    joined = "\n".join(strings)
    lowered = joined.lower()
    if len(lowered) == len(joined) and joined.count("\n") == max(len(strings) - 1, 0):
        return lowered, lowered.split("\n") if strings else []
    low = [lower_same_length(text).replace("\n", "\x00") for text in strings]
    return "\n".join(low), low


def _starts(lines: list[str], first: int = 0) -> array[int]:
    """Offset of each line in the joined string (plus `first`)."""
    return array("q", accumulate(map((1).__add__, map(len, lines)), initial=first))[:-1]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Entries of one root (or part of it), in ranking order; never mutated after `build`.

    Numbers are kept in `array`s and flags in `bytes`: in a list each would be a separate int object and
    one more element for the garbage collector to visit. At 200,000 entries that saves 22 MB once ranked
    (118 against 140 MB) and a fifth of a full collection (24 against 29 ms).
    """

    paths: list[str]
    names: list[str]
    is_dir: bytes
    low_paths: list[str]
    low_names: list[str]
    path_blob: str
    path_starts: array[int]
    name_order: array[int]
    name_blob: str
    """Lower-cased names in `name_order`, one per line, with a leading newline so every name follows one."""
    name_starts: array[int]
    separators: str
    """The SEPARATORS that occur in these names."""

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> Snapshot:
        columns = Columns()
        for path, name, is_dir in entries:
            columns.paths.append(path)
            columns.names.append(name)
            columns.is_dir.append(is_dir)
        return cls.from_columns(columns)

    @classmethod
    def from_columns(cls, columns: Columns) -> Snapshot:
        """Sorting and joining run through C-level builtins (map, key=len): this is on the walk's path."""
        raw_paths = columns.paths
        order = sorted(range(len(raw_paths)), key=raw_paths.__getitem__)
        order.sort(key=list(map(len, raw_paths)).__getitem__)
        paths = list(map(raw_paths.__getitem__, order))
        names = list(map(columns.names.__getitem__, order))
        path_blob, low_paths = _lines(paths)
        _, low_names = _lines(names)
        name_order = sorted(range(len(names)), key=list(map(len, names)).__getitem__)
        ordered_names = list(map(low_names.__getitem__, name_order))
        name_blob = "\n" + "\n".join(ordered_names)
        return cls(
            paths=paths,
            names=names,
            is_dir=bytes(map(columns.is_dir.__getitem__, order)),
            low_paths=low_paths,
            low_names=low_names,
            path_blob=path_blob,
            path_starts=_starts(low_paths),
            name_order=array("q", name_order),
            name_blob=name_blob,
            name_starts=_starts(ordered_names, first=1),
            separators="".join(char for char in SEPARATORS if char in name_blob),
        )

    def __len__(self) -> int:
        return len(self.paths)


class Listing:
    """Some directories' entries in walk order, not yet ranked; ranks itself into a `Snapshot` on demand.

    `raw` is (paths, low, directories): the root-relative paths one per line, each after a "/" so that the
    start of every name follows one (a search for "/" + atom finds the names that start with the atom);
    the same lower-cased, at the same offsets (`listing` only makes a Listing when lower-casing keeps every
    length and no name holds a newline), so a match found in `low` is cut out of `paths` at the same place;
    and the set of paths that are directories. Safe to share between threads: `ranked()` builds once,
    under a lock, then drops `raw`, which only a scan already under way still reads.
    """

    __slots__ = ("_lock", "_nodes", "_ranked", "_raw", "count")

    def __init__(self, nodes: list[DirNode], raw: Raw, count: int) -> None:
        self._nodes = nodes
        self._raw: Raw | None = raw
        self._ranked: Snapshot | None = None
        self._lock = threading.Lock()
        self.count = count

    @property
    def raw(self) -> Raw | None:
        """(paths, lower-cased paths, directory paths), or None once ranked."""
        return self._raw

    @property
    def nodes(self) -> list[DirNode]:
        return self._nodes

    @property
    def is_ranked(self) -> bool:
        return self._ranked is not None

    def ranked(self) -> Snapshot:
        with self._lock:
            if self._ranked is None:
                self._ranked = Snapshot.from_columns(_columns(self._nodes))
                self._raw = None
            return self._ranked

    def __len__(self) -> int:
        return self.count


Raw = tuple[str, str, frozenset[str]]
Part = Snapshot | Listing
View = tuple[Part, ...]
Progress = Callable[[View], None]


def _columns(nodes: Iterable[DirNode]) -> Columns:
    columns = Columns()
    for node in nodes:
        columns.add(node)
    return columns


def listing(nodes: list[DirNode]) -> Part:
    """The directories' entries as a `Listing`, joined in C a directory at a time; a `Snapshot` when their
    names need the careful lower-casing (`_lines`) or hold a newline."""
    parts = []
    dirs: list[str] = []
    count = 0
    for node in nodes:
        names = node.files + node.dirs if node.dirs else node.files
        if not names:
            continue
        count += len(names)
        prefix = "/" + node.rel + "/" if node.rel else "/"
        parts.append(prefix + ("\n" + prefix).join(names))
        if node.dirs:
            dirs.extend([prefix[1:] + name for name in node.dirs])
    paths = "\n".join(parts)
    low = paths.lower()
    if len(low) != len(paths) or paths.count("\n") != max(count - 1, 0):
        return Snapshot.from_columns(_columns(nodes))
    return Listing(nodes, (paths, low, frozenset(dirs)), count)


class RootIndex:
    """One root's walk and snapshots; safe to use from several threads (one walk or refresh at a time)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._tree = Tree(root)
        self._view: View | None = None
        self._lock = threading.Lock()

    @property
    def view(self) -> View | None:
        """The latest complete snapshots, without touching the filesystem (None before the first walk)."""
        return self._view

    def current(self, progress: Progress | None = None) -> View:
        """Segments that match the filesystem now: walks the first time, re-checks mtimes afterwards."""
        with self._lock:
            if self._view is None:
                self._view = self._walk(progress)
            elif self._tree.refresh():
                self._view = tuple(_segments(self._tree.nodes.values(), LARGEST_SNAPSHOT))
            return self._view

    def refresh(self) -> bool:
        """Re-check after a change notification; True when the segments changed."""
        with self._lock:
            if self._view is None:
                return False
            if not self._tree.refresh():
                return False
            self._view = tuple(_segments(self._tree.nodes.values(), LARGEST_SNAPSHOT))
            return True

    def directories(self) -> list[str]:
        """The directories the index lists, as paths under the root: what a watcher watches to keep it
        current (symlinked ones through their link)."""
        with self._lock:
            rels = list(self._tree.nodes)
        prefix = self.root if self.root.endswith("/") else self.root + "/"
        return [prefix + rel if rel else self.root for rel in rels]

    def rank(self) -> View | None:
        """Rank the listings into snapshots of up to LARGEST_SNAPSHOT entries, so that later queries stop
        early instead of scanning; the walk's smaller segments are merged on the way (at 200,000 files, 4
        parts instead of 25: a query collects its best entries from each part). The new view."""
        with self._lock:
            view = self._view
            if view is None or not any(isinstance(part, Listing) for part in view):
                return view
            kept = [part.ranked() for part in view if isinstance(part, Listing) and part.is_ranked]
            kept += [part for part in view if isinstance(part, Snapshot)]
            nodes = [node for part in view if isinstance(part, Listing) and not part.is_ranked for node in part.nodes]
            self._view = (*kept, *_snapshots(nodes))
            return self._view

    def _walk(self, progress: Progress | None) -> View:
        with helper.offload(self.root) as offload:
            nodes = self._tree.walk(offload)
            if progress is None:
                return tuple(_segments(nodes, LARGEST_SNAPSHOT))
            published: list[Part] = []
            for segment in _segments(nodes, SEGMENT_ENTRIES):
                published.append(segment)
                progress(tuple(published))
            return tuple(published)


def _snapshots(nodes: Iterable[DirNode]) -> Iterator[Snapshot]:
    """Directories' entries as snapshots of about LARGEST_SNAPSHOT entries, cut at directory ends and
    built one at a time, so ranking never holds a second copy of every entry."""
    columns = Columns()
    for node in nodes:
        columns.add(node)
        if len(columns) >= LARGEST_SNAPSHOT:
            yield Snapshot.from_columns(columns)
            columns = Columns()
    if len(columns):
        yield Snapshot.from_columns(columns)


def _segments(nodes: Iterable[DirNode], size: int) -> Iterator[Part]:
    """Directories in walk order, cut into segments of about `size` entries (at directory ends); always at
    least one, so an empty root still has a view."""
    batch: list[DirNode] = []
    entries = 0
    cut = False
    for node in nodes:
        batch.append(node)
        entries += len(node.files) + len(node.dirs)
        if entries >= size:
            yield listing(batch)
            batch, entries, cut = [], 0, True
    if entries or not cut:
        yield listing(batch)


class IndexCache:
    """Per-process indexes for one-shot searches, so repeated queries re-check instead of re-walking."""

    def __init__(self, capacity: int = CACHED_ROOTS) -> None:
        self._capacity = capacity
        self._indexes: OrderedDict[str, RootIndex] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, root: str) -> RootIndex:
        with self._lock:
            index = self._indexes.pop(root, None) or RootIndex(root)
            self._indexes[root] = index
            while len(self._indexes) > self._capacity:
                self._indexes.popitem(last=False)
            return index
