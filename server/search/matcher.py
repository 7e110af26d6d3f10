"""Ranking: which entries match a query and in what order. Pure: snapshots in, matches out.

A query is split on whitespace into atoms that must all match, case-insensitively, as a subsequence of
the entry's root-relative path (as upstream's matcher does). Each atom lands in one tier:

    6 the file name is the atom          ("render" -> src/render)
    5 the file name starts with it       ("render" -> src/render.rs)
    4 it starts a word of the file name  ("server" -> config_server.rs)
    3 the file name contains it          ("erv" -> server.rs)
    2 the path contains it               ("sub/tar" -> sub/target.txt)
    1 the path contains it spread out    ("cfgsrv" -> config/server.rs)

A score packs (tier, how well, path length) into a uint32, most significant first: within tiers 5-3 the
fewer extra characters in the name the better; within tier 1 the more atom characters fall in the name
the better; then shorter paths first. Equal scores are ordered by path. An entry's score is the sum over
atoms, so multi-atom queries rank by the same rules.

Why the tiers make the matcher fast: snapshots store entries already sorted so that, inside tiers 6-2,
scan order is rank order. The matcher scans tier by tier in C (`re` over one joined string) and stops
as soon as it has the requested number of results; only tier 1 needs every candidate, and it is computed
by rapidfuzz (an LCS equal to the atom's length means the atom is a subsequence) in C as well.

rapidfuzz is imported by the functions that use it, not here: most single-word queries are answered from
tiers 6-2 alone, so a fresh server's first search does not pay its ~9 ms import.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from server.search.index import SEPARATORS, Snapshot, View, lower_same_length

LIMIT = 50
"""Results per query, upstream's cap."""

FIELD = 4095
TIER_SHIFT = 24
QUALITY_SHIFT = 12
MAX_SCORE = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Match:
    root: str
    path: str
    file_name: str
    is_dir: bool
    score: int
    indices: list[int]


def atoms(query: str) -> list[str]:
    return [atom for atom in lower_same_length(query).replace("\x00", "").split() if atom]


def _length_score(length: int) -> int:
    return FIELD - min(length, FIELD)


def _score(tier: int, quality: int, path_length: int) -> int:
    return (tier << TIER_SHIFT) | (min(quality, FIELD) << QUALITY_SHIFT) | _length_score(path_length)


@lru_cache(maxsize=256)
def _literal(text: str) -> re.Pattern[str]:
    """A pattern starting with a literal: `re` then scans with its fast substring search."""
    return re.compile(re.escape(text))


@lru_cache(maxsize=256)
def _word_start(separators: str, atom: str) -> re.Pattern[str]:
    """The atom right after one of `separators`: a start of word inside a file name.

    A class of the separators actually present is several times faster to scan than `[_\\W]`.
    """
    return re.compile(f"[{re.escape(separators)}]{re.escape(atom)}")


def _line(starts: list[int], offset: int) -> int:
    return bisect_right(starts, offset) - 1


def _name_hits(snap: Snapshot, pattern: re.Pattern[str]) -> Iterator[int]:
    """Entries whose lower-cased name the pattern finds, in name order (each match ends inside its line)."""
    order, starts, blob = snap.name_order, snap.name_starts, snap.name_blob
    for found in pattern.finditer(blob):
        yield order[_line(starts, found.end() - 1)]


def _path_hits(snap: Snapshot, pattern: re.Pattern[str]) -> Iterator[int]:
    starts = snap.path_starts
    for found in pattern.finditer(snap.path_blob):
        yield _line(starts, found.end() - 1)


def _rank_one(snap: Snapshot, atom: str, limit: int) -> dict[int, int]:
    """Best `limit` entries of one snapshot for a single atom: entry id -> score."""
    taken: dict[int, int] = {}
    size = len(atom)
    names, paths = snap.low_names, snap.low_paths

    def name_score(tier: int, entry: int) -> int:
        name_length = len(names[entry])
        actual = 6 if tier == 5 and name_length == size else tier
        return _score(actual, FIELD - (name_length - size), len(paths[entry]))

    anywhere = _literal(atom)
    if anywhere.search(snap.name_blob):
        passes = [(_name_hits(snap, _literal("\n" + atom)), 5)]
        if snap.separators:
            passes.append((_name_hits(snap, _word_start(snap.separators, atom)), 4))
        passes.append((_name_hits(snap, anywhere), 3))
        for hits, tier in passes:
            for entry in hits:
                if entry not in taken:
                    taken[entry] = name_score(tier, entry)
                    if len(taken) >= limit:
                        return taken
    for entry in _path_hits(snap, anywhere):
        if entry not in taken:
            taken[entry] = _score(2, 0, len(paths[entry]))
            if len(taken) >= limit:
                return taken
    if size > 1:
        taken.update(_spread(snap, atom, limit - len(taken), exclude=taken))
    return taken


def _subsequence_ids(atom: str, choices: Sequence[str]) -> list[int]:
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    found = process.extract(atom, choices, scorer=LCSseq.similarity, score_cutoff=len(atom), limit=None)
    return sorted(position for _, _, position in found)


def _spread(snap: Snapshot, atom: str, limit: int, exclude: dict[int, int]) -> dict[int, int]:
    """Tier 1: entries whose path holds the atom only as a scattered subsequence."""
    candidates = [entry for entry in _subsequence_ids(atom, snap.low_paths) if entry not in exclude]
    if not candidates:
        return {}
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    in_name = process.extract(
        atom, [snap.low_names[entry] for entry in candidates], scorer=LCSseq.similarity, limit=limit
    )
    result = {}
    for _, common, position in in_name:
        entry = candidates[position]
        result[entry] = _score(1, int(common), len(snap.low_paths[entry]))
    return result


def _word_start_in(atom: str, low_name: str) -> int:
    """Position of the first occurrence of the atom that starts a word of the name, or -1."""
    start = low_name.find(atom, 1)
    while start > 0:
        if low_name[start - 1] in SEPARATORS:
            return start
        start = low_name.find(atom, start + 1)
    return -1


def _rank_many(snap: Snapshot, query: list[str], limit: int) -> dict[int, int]:
    """Entries matching every atom, scored per entry: the same tiers as `_rank_one`, one atom at a time.

    Scored in Python (no scan order follows a sum of tiers), so the loop is kept flat; candidates are
    narrowed in C first, so only entries where every atom is a subsequence of the path get here.
    """
    from rapidfuzz.distance import LCSseq

    longest = max(query, key=len)
    candidates = _subsequence_ids(longest, snap.low_paths)
    for atom in query:
        if atom is not longest and candidates:
            kept = _subsequence_ids(atom, [snap.low_paths[entry] for entry in candidates])
            candidates = [candidates[position] for position in kept]
    low_paths, low_names, paths = snap.low_paths, snap.low_names, snap.paths
    scored = []
    for entry in candidates:
        low_path, low_name = low_paths[entry], low_names[entry]
        length = FIELD - min(len(low_path), FIELD)
        total = 0
        for atom in query:
            if atom in low_name:
                extra = len(low_name) - len(atom)
                if extra == 0:
                    tier = 6
                elif low_name.startswith(atom):
                    tier = 5
                elif _word_start_in(atom, low_name) >= 0:
                    tier = 4
                else:
                    tier = 3
                total += (tier << TIER_SHIFT) | ((FIELD - min(extra, FIELD)) << QUALITY_SHIFT) | length
            elif atom in low_path:
                total += (2 << TIER_SHIFT) | length
            else:
                common = min(int(LCSseq.similarity(atom, low_name)), FIELD)
                total += (1 << TIER_SHIFT) | (common << QUALITY_SHIFT) | length
        scored.append((-min(total, MAX_SCORE), paths[entry], entry))
    return {entry: -negative for negative, _, entry in heapq.nsmallest(limit, scored)}


def atom_indices(atom: str, low_path: str, low_name: str) -> list[int]:
    """Where one atom matched, as positions in the path, for highlighting (the tier's own occurrence)."""
    size = len(atom)
    name_at = len(low_path) - len(low_name)
    if atom in low_name:
        if low_name.startswith(atom):
            start = 0
        else:
            start = _word_start_in(atom, low_name)
            if start < 0:
                start = low_name.find(atom)
        return list(range(name_at + start, name_at + start + size))
    start = low_path.rfind(atom)
    if start >= 0:
        return list(range(start, start + size))
    from rapidfuzz.distance import LCSseq

    if LCSseq.similarity(atom, low_name) == size:
        return _tight_subsequence(atom, low_path, name_at)
    return _tight_subsequence(atom, low_path, 0)


def _tight_subsequence(atom: str, text: str, begin: int) -> list[int]:
    """Positions of a compact occurrence of `atom` as a subsequence of `text[begin:]` (fzf's v1 scheme).

    A forward pass finds the earliest point where the whole atom has been seen; a backward pass from there
    finds the latest start, so the highlighted characters cluster instead of scattering.
    """
    end = begin - 1
    for char in atom:
        end = text.find(char, end + 1)
        if end < 0:
            return []
    positions = []
    cursor = end + 1
    for char in reversed(atom):
        cursor = text.rfind(char, begin, cursor)
        positions.append(cursor)
    return positions[::-1]


class Superseded(Exception):
    """A search stopped early because nobody wants its answer any more."""


def narrows(previous: Sequence[str], query: Sequence[str]) -> bool:
    """Whether every entry matching atoms `query` also matches atoms `previous`.

    An entry matches when each atom is a subsequence of its path (a one-character atom too: for one
    character, contained and subsequence are the same), so it holds when each previous atom is a
    subsequence of one of the new atoms: typing more characters, or another atom, only narrows.
    """
    return all(any(_is_subsequence(old, new) for new in query) for old in previous)


def _is_subsequence(atom: str, text: str) -> bool:
    rest = iter(text)
    return all(char in rest for char in atom)


def search(
    views: Sequence[tuple[str, View]],
    query: str,
    limit: int = LIMIT,
    superseded: Callable[[], bool] | None = None,
) -> list[Match]:
    """Best `limit` matches over every root's snapshots: score descending, then path, then root order.

    `superseded` is asked before each snapshot (a few milliseconds of work at most); when it says yes the
    search raises `Superseded` instead of finishing an answer nobody will send.
    """
    parsed = atoms(query)
    if not parsed or limit <= 0:
        return []
    hits: list[tuple[int, str, int, Snapshot, int, str]] = []
    for order, (root, view) in enumerate(views):
        for snap in view:
            if superseded is not None and superseded():
                raise Superseded(query)
            ranked = _rank_one(snap, parsed[0], limit) if len(parsed) == 1 else _rank_many(snap, parsed, limit)
            hits.extend((-score, snap.paths[entry], order, snap, entry, root) for entry, score in ranked.items())
    hits.sort(key=lambda hit: hit[:3])
    matches = []
    for negative, path, _, snap, entry, root in hits[:limit]:
        low_path, low_name = snap.low_paths[entry], snap.low_names[entry]
        indices = sorted({i for atom in parsed for i in atom_indices(atom, low_path, low_name)})
        matches.append(Match(root, path, snap.names[entry], snap.is_dir[entry], -negative, indices))
    return matches
