"""The directory walk behind every search, and the cheap re-check that keeps a finished walk current.

Matches upstream's walk (protocol notes, section 4, and probes of 0.163): hidden entries are kept, `.git`
included; symlinks are followed, to directories too, except a link back to one of its own ancestors (it
is left out entirely, as upstream does); broken symlinks are left out; FIFOs and other non-directories
count as files; unreadable directories are listed but not entered; names that are not UTF-8 are left
out, with everything below them; ignore rules come from `server.search.ignore`.

The walk keeps one `DirNode` per directory with the directory's identity and mtime, so `Tree.refresh()`
can tell what changed by stat-ing directories instead of re-reading them: creating, deleting or renaming
an entry always bumps its parent directory's mtime. File timestamps come from a coarse kernel clock, so a
change in the same clock tick as our read could keep the mtime we recorded; like git's "racy index"
check, a directory whose mtime is that recent is re-read on the next refresh until it is old enough.
"""

from __future__ import annotations

import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from server.search.ignore import RuleStack, ignore_files, load_rules, root_stack

RACY_WINDOW_NS = 50_000_000
"""Directories modified this close to our read of them are re-read next time (coarse clocks tick 1-10 ms)."""

DirKey = tuple[int, int]
Job = tuple[str, RuleStack, tuple[DirKey, ...]]
"""A subtree still to walk: (root-relative path, rules from above, identities of its ancestors)."""


@dataclass(slots=True)
class DirNode:
    rel: str
    """Root-relative path, "" for the root."""
    key: DirKey
    """(st_dev, st_ino) of the directory the path resolves to."""
    mtime_ns: int
    racy: bool
    inherited: RuleStack
    """Rules from above; `rules` adds this directory's own ignore files."""
    rules: RuleStack
    chain: tuple[DirKey, ...]
    """Identities of the ancestors, to refuse symlinks that loop back."""
    ignore_stamp: tuple[tuple[str, int, int], ...]
    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)


def join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def _ignore_stamp(path: str, names: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
    stamp = []
    for name in names:
        try:
            st = os.stat(os.path.join(path, name))
        except OSError:
            continue
        stamp.append((name, st.st_mtime_ns, st.st_size))
    return tuple(stamp)


class Tree:
    """Everything the walk kept under one root, by directory."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.nodes: dict[str, DirNode] = {}

    def walk(self, offload: Offload | None = None) -> Iterator[DirNode]:
        """Walk from the root, yielding each directory once its children are known (for progress); with
        `offload`, another process walks some subtrees meanwhile (server.search.helper)."""
        self.nodes.clear()
        start = self._start()
        if start is None:
            return
        pending = deque([start])
        adopted = offload.adopt(start) if offload is not None else None
        if adopted is not None:  # another process had started this walk: take what it did and what is left
            walked, rest = adopted
            for node in walked:
                self.nodes[node.rel] = node
                yield node
            pending = deque(rest)
        yield from self._walk_from(pending, offload)

    def walk_below(self, job: Job) -> Iterator[DirNode]:
        """Walk one subtree another walk of this root handed out (server.search.helper's child)."""
        yield from self._walk_from(deque([job]))

    def walk_until(self, stop: Callable[[], bool], rest: list[Job]) -> Iterator[DirNode]:
        """Walk from the root until `stop()` says another process takes over (server.search.helper's walk
        ahead); the subtrees not walked by then are left in `rest`, the one this walk would reach last
        first, as a walk's pending subtrees are ordered."""
        self.nodes.clear()
        start = self._start()
        pending = deque([start] if start is not None else [])
        while pending:
            if stop():
                rest.extend(pending)
                return
            node = self._step(pending)
            if node is not None:
                yield node

    def _start(self) -> Job | None:
        """The walk's first job, or None for a root that is relative or not a directory (nothing to walk)."""
        if not os.path.isabs(self.root) or not os.path.isdir(self.root):
            return None
        return ("", root_stack(self.root), ())

    def entries(self) -> Iterator[tuple[str, str, bool]]:
        """(root-relative path, file name, is directory) of everything kept."""
        for node in self.nodes.values():
            yield from node_entries(node)

    def refresh(self) -> bool:
        """Bring the tree up to date with the filesystem; True when any entry appeared or disappeared."""
        if not self.nodes:
            return any(True for _ in self.walk())
        changed = False
        for rel, node in list(self.nodes.items()):
            if self.nodes.get(rel) is not node:
                continue  # dropped or re-read while refreshing an ancestor
            path = os.path.join(self.root, rel) if rel else self.root
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is None or (st.st_dev, st.st_ino) != node.key:
                changed = True  # gone, or now another directory (a renamed-over dir, a retargeted symlink)
                if rel == "":
                    self.walk_all()
                    return True
                self._drop(rel)
                if st is not None and stat.S_ISDIR(st.st_mode):
                    self._rewalk(rel, node.inherited, node.chain)
                continue
            if node.ignore_stamp and _ignore_stamp(path, ignore_files(node.inherited.in_git)) != node.ignore_stamp:
                changed = True
                self._drop(rel)
                self._rewalk(rel, node.inherited, node.chain)
            elif node.racy or st.st_mtime_ns != node.mtime_ns:
                changed |= self._reread(node)
        return changed

    def walk_all(self) -> None:
        for _ in self.walk():
            pass

    def _walk_from(self, pending: deque[Job], offload: Offload | None = None) -> Iterator[DirNode]:
        """Depth first from the `pending` subtrees. Whenever `offload` is free it takes the subtree this walk
        would reach last, and its nodes join the walk's once they have all arrived (or the subtree comes
        back to be walked here, when the other process could not)."""
        while pending or (offload is not None and offload.busy):
            if offload is not None:
                done = offload.finished(block=not pending)
                if done is not None:
                    job, nodes = done
                    if nodes is None:
                        pending.appendleft(job)
                    else:
                        for walked in nodes:
                            self.nodes[walked.rel] = walked
                            yield walked
                if len(pending) > 1 and offload.take(pending[0]):
                    pending.popleft()
                if not pending:
                    continue
            node = self._step(pending)
            if node is not None:
                yield node

    def _step(self, pending: deque[Job]) -> DirNode | None:
        """Walk the last pending directory: keep its node, and queue its subdirectories after it."""
        current, inherited, ancestors = pending.pop()
        node = self._scan(current, inherited, ancestors)
        if node is None:
            return None
        self.nodes[current] = node
        below = (*ancestors, node.key)
        pending.extend((join(current, name), node.rules, below) for name in reversed(node.dirs))
        return node

    def _scan(self, rel: str, inherited: RuleStack, chain: tuple[DirKey, ...]) -> DirNode | None:
        path = os.path.join(self.root, rel) if rel else self.root
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_dev, st.st_ino)
        names = ignore_files(inherited.in_git)
        started = time.time_ns()
        node = DirNode(
            rel=rel,
            key=key,
            mtime_ns=st.st_mtime_ns,
            racy=st.st_mtime_ns >= started - RACY_WINDOW_NS,
            inherited=inherited,
            rules=inherited,
            chain=chain,
            ignore_stamp=(),
        )
        try:
            with os.scandir(path) as listing:
                children = list(listing)
        except OSError:
            return node  # unreadable: listed by its parent, not entered
        # Comprehensions and C-level map over DirEntry methods (d_type, no stat) rather than one loop with
        # branches: this runs once per entry of the tree and is most of a walk's cost. Most directories
        # hold no symlink, and a leaf directory's names are all files, so those passes are skipped.
        entry_names = [child.name for child in children]
        if any(map(names.__contains__, entry_names)):
            node.ignore_stamp = _ignore_stamp(path, names)
            node.rules = inherited.push(load_rules(path, names, base=rel))
        dirs = [child.name for child in children if child.is_dir()]
        left_out = _undecodable(entry_names)
        if any(map(os.DirEntry.is_symlink, children)):
            below = (*chain, key)
            for link in [child for child in children if child.is_symlink()]:
                try:
                    target = link.stat()
                except OSError:
                    target = None  # broken: upstream leaves it out
                if target is None or (link.is_dir() and (target.st_dev, target.st_ino) in below):
                    left_out.add(link.name)  # a link back to an ancestor: upstream leaves it out too
        if left_out:
            entry_names = [name for name in entry_names if name not in left_out]
            dirs = [name for name in dirs if name not in left_out]
        if dirs:
            directories = set(dirs)
            node.files = [name for name in entry_names if name not in directories]
        else:
            node.files = entry_names
        node.dirs = dirs
        if node.rules.rules:
            rules = node.rules
            node.files = [name for name in node.files if not rules.ignored(join(rel, name), False)]
            node.dirs = [name for name in node.dirs if not rules.ignored(join(rel, name), True)]
        return node

    def _reread(self, old: DirNode) -> bool:
        """Re-list one directory whose mtime moved; walk new subdirectories, drop vanished ones."""
        fresh = self._scan(old.rel, old.inherited, old.chain)
        if fresh is None:
            self._drop(old.rel)
            return True
        if fresh.ignore_stamp != old.ignore_stamp:
            self._drop(old.rel)  # its ignore files came or went: every rule below may have changed
            self._rewalk(old.rel, old.inherited, old.chain)
            return True
        self.nodes[old.rel] = fresh
        changed = set(fresh.files) != set(old.files) or set(fresh.dirs) != set(old.dirs)
        kept = set(fresh.dirs)
        for name in old.dirs:
            if name not in kept:
                self._drop(join(old.rel, name))
        below = (*fresh.chain, fresh.key)
        for name in set(fresh.dirs) - set(old.dirs):
            self._rewalk(join(old.rel, name), fresh.rules, below)
        return changed

    def _rewalk(self, rel: str, stack: RuleStack, chain: tuple[DirKey, ...]) -> None:
        for _ in self._walk_from(deque([(rel, stack, chain)])):
            pass

    def _drop(self, rel: str) -> None:
        """Forget a directory and everything under it."""
        prefix = rel + "/"
        for key in [key for key in self.nodes if key == rel or (not rel or key.startswith(prefix))]:
            del self.nodes[key]


def _undecodable(names: list[str]) -> set[str]:
    """The names that are not UTF-8: `os.scandir` carries their bad bytes as surrogate escapes (PEP 383).
    Upstream leaves out every entry whose path is not UTF-8, and so everything below such a directory
    (probed on 0.163). One join tells when a directory has none, which is nearly always."""
    if "".join(names).isascii():
        return set()
    return {name for name in names if not _utf8(name)}


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def node_entries(node: DirNode) -> Iterator[tuple[str, str, bool]]:
    rel = node.rel
    for name in node.files:
        yield join(rel, name), name, False
    for name in node.dirs:
        yield join(rel, name), name, True


class Columns:
    """Entries as three parallel lists (path, name, is directory), filled a directory at a time."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.names: list[str] = []
        self.is_dir: list[bool] = []

    def add(self, node: DirNode) -> None:
        prefix = node.rel + "/" if node.rel else ""
        for names, is_dir in ((node.files, False), (node.dirs, True)):
            self.paths.extend([prefix + name for name in names])
            self.names.extend(names)
            self.is_dir.extend([is_dir] * len(names))

    def __len__(self) -> int:
        return len(self.paths)


class Offload(Protocol):
    """Another process's help with a walk, one subtree at a time (server.search.helper.Offload)."""

    @property
    def busy(self) -> bool:
        """A subtree is out."""
        ...

    def take(self, job: Job) -> bool:
        """Start walking `job` elsewhere; False when that cannot be done now."""
        ...

    def adopt(self, start: Job) -> tuple[list[DirNode], list[Job]] | None:
        """When the walk from `start` is already under way elsewhere (None when not): stop it there, and
        return the directories it walked and the subtrees it had not reached, to share out as usual."""
        ...

    def finished(self, block: bool) -> tuple[Job, list[DirNode] | None] | None:
        """The subtree out and all of its nodes, or with None for them when it must be walked here; None
        while it is under way (with `block`, waits until it is not)."""
        ...
