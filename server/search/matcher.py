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

A `Listing` (a walk's entries not ranked yet, server.search.index) has no rank order to stop early in.
When few of its entries hold the atom, `_scan` goes through tiers 6-2 with one `re` pass each over the
listing's joined paths, scores every line a pass finds, and keeps the best; subsequences (tier 1) and
several atoms go through the same rapidfuzz filter as a snapshot's. When too many hold it, the listing is
ranked once. Both give the same answer: `tests/server/test_search_matcher.py` checks it.

rapidfuzz is imported by the functions that use it, not here: most single-word queries are answered from
tiers 6-2 alone, so a fresh server's first search does not pay its ~9 ms import.
"""

from __future__ import annotations

import heapq
import operator
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from server.search.index import SEPARATORS, Listing, Part, Raw, Snapshot, View, lower_same_length

LIMIT = 50
"""Results per query, upstream's cap."""

FIELD = 4095
TIER_SHIFT = 24
QUALITY_SHIFT = 12
MAX_SCORE = 2**32 - 1

SCAN_SHARE = 4
"""A listing is scanned for an atom held by at most one in SCAN_SHARE of its entries, and ranked otherwise
(a scan that meets more gives up). Scoring a line costs about what ranking costs per entry (1-1.5 us), so
a scan costs at most a quarter of ranking, and a fresh index answers a selective first query without
ranking. Lines whose name holds the atom are found first; the others only when those fall short."""

Found = tuple[int, str, str, str, str, bool]
"""One entry among a part's best: (negated score, path, lower-cased path, lower-cased name, name, is dir)."""
Memo = dict[int, tuple[Part, list[Found]]]
"""Parts' best entries for one query and limit, by the part's id (the part is kept, so the id stays its)."""


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


def _line(starts: Sequence[int], offset: int) -> int:
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


def _rank_many(low_paths: Sequence[str], paths: Sequence[str], query: list[str], limit: int) -> dict[int, int]:
    """Entries matching every atom, scored per entry: the same tiers as `_rank_one`, one atom at a time.

    Scored in Python (no scan order follows a sum of tiers), so the loop is kept flat; candidates are
    narrowed in C first, so only entries where every atom is a subsequence of the path get here.
    """
    from rapidfuzz.distance import LCSseq

    longest = max(query, key=len)
    candidates = _subsequence_ids(longest, low_paths)
    for atom in query:
        if atom is not longest and candidates:
            kept = _subsequence_ids(atom, [low_paths[entry] for entry in candidates])
            candidates = [candidates[position] for position in kept]
    scored = []
    for entry in candidates:
        low_path = low_paths[entry]
        low_name = low_path[low_path.rfind("/") + 1 :]
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


def _scan(raw: Raw, count: int, query: list[str], limit: int) -> list[Found] | None:
    """A listing's best `limit` entries without ranking it; None when its atom is too common for that.

    Tier by tier, as `_rank_one` goes: the lines whose name starts with the atom, then those where it
    starts a word of the name, then those whose name holds it, then the others; a tier's lines are all
    scored, and once `limit` lines are in, no later tier can make the cut.
    """
    paths, low, dirs = raw
    if not count:
        return []
    if len(query) > 1:
        low_paths, originals = _lines_of(raw)
        ranked = _rank_many(low_paths, originals, query, limit)
        return [_found_line(low_paths[entry], originals[entry], dirs, score) for entry, score in ranked.items()]
    atom = query[0]
    size = len(atom)
    most = count // SCAN_SHARE
    rfind, find = low.rfind, low.find
    scored: list[tuple[int, int, int, int]] = []
    """(negated score, line start, line end, name start) of each line holding the atom."""
    seen: set[int] = set()
    """Line starts already scored: the first tier that finds a line is its best."""
    held = atom in low  # one fast search saves the tiers' passes when the atom is nowhere
    for pattern, tier in _name_tiers(atom) if held and "/" not in atom else ():
        for found in pattern.finditer(low):
            at, end = found.span()  # where the tier's occurrence starts, and the line's end
            start = rfind("\n", 0, at) + 1
            if start in seen:
                continue
            if len(scored) >= most:
                return None
            seen.add(start)
            name_at = at + 1 if tier == 5 else rfind("/", start, at) + 1  # 5 matches the "/" before it
            name_length = end - name_at
            quality = FIELD - (name_length - size)
            actual = 6 if tier == 5 and name_length == size else tier
            length = FIELD - min(end - start - 1, FIELD)
            scored.append((-((actual << TIER_SHIFT) | (quality << QUALITY_SHIFT) | length), start, end, name_at))
        if len(scored) >= limit:
            break
    else:  # tier 2: lines holding the atom outside the name
        for found in _to_line_end(atom).finditer(low) if held else ():
            at, end = found.span()  # the line's first occurrence, and its end
            start = rfind("\n", 0, at) + 1
            if start in seen or (at == start and find(atom, start + 1, end) < 0):
                continue  # scored above, or only the "/" the listing puts before each path matched
            if len(scored) >= most:
                return None
            scored.append((-((2 << TIER_SHIFT) | FIELD - min(end - start - 1, FIELD)), start, end, 0))
    if len(scored) > limit:
        cut = heapq.nsmallest(limit, [line[0] for line in scored])[-1]
        scored = [line for line in scored if line[0] <= cut]  # ties at the cut are settled by path below
    chosen = heapq.nsmallest(limit, [(negative, paths[start + 1 : end], end) for negative, start, end, _ in scored])
    found_lines: list[Found] = [
        _found_line(low[end - len(path) : end], path, dirs, -negative) for negative, path, end in chosen
    ]
    if size > 1 and len(found_lines) < limit:
        found_lines.extend(_scan_spread(raw, atom, limit - len(found_lines)))
    return found_lines


@lru_cache(maxsize=256)
def _name_tiers(atom: str) -> list[tuple[re.Pattern[str], int]]:
    """Patterns for tiers 5, 4 and 3 over a listing: the atom after the "/" before a name, after a
    separator in a name, or anywhere in one, then the rest of the name. Each starts with a literal or a
    class, which `re` searches for fast, and gives up at the first "/" after the atom."""
    rest = re.escape(atom) + "[^/\n]*$"
    return [
        (re.compile("/" + rest, re.MULTILINE), 5),
        (re.compile(f"[{re.escape(SEPARATORS)}]" + rest, re.MULTILINE), 4),
        (re.compile(rest, re.MULTILINE), 3),
    ]


@lru_cache(maxsize=256)
def _to_line_end(atom: str) -> re.Pattern[str]:
    """The atom and the rest of its line: one match per line that holds it, found with `re`'s literal
    search."""
    return re.compile(re.escape(atom) + "[^\n]*")


def _lines_of(raw: Raw) -> tuple[list[str], list[str]]:
    """A listing's lower-cased and original paths as lists, for what needs them one by one (rapidfuzz)."""
    paths, low, _ = raw
    return _split(low), _split(paths)


def _split(blob: str) -> list[str]:
    """A listing's joined paths as a list, without the "/" before each (server.search.index.Listing)."""
    return blob[1:].split("\n/")


def _found_line(low_path: str, path: str, dirs: frozenset[str], score: int) -> Found:
    name_at = path.rfind("/") + 1
    return (-score, path, low_path, low_path[name_at:], path[name_at:], path in dirs)


def _scan_spread(raw: Raw, atom: str, limit: int) -> list[Found]:
    """Tier 1 of a listing: its best `limit` entries holding the atom only as a scattered subsequence."""
    from rapidfuzz.distance import LCSseq

    paths, low, dirs = raw
    low_paths = _split(low)
    candidates = [entry for entry in _subsequence_ids(atom, low_paths) if atom not in low_paths[entry]]
    if not candidates:
        return []
    originals = _split(paths)
    scored = []
    for entry in candidates:
        low_path = low_paths[entry]
        common = int(LCSseq.similarity(atom, low_path[low_path.rfind("/") + 1 :]))
        scored.append((-_score(1, common, len(low_path)), originals[entry], entry))
    return [
        _found_line(low_paths[entry], path, dirs, -negative) for negative, path, entry in heapq.nsmallest(limit, scored)
    ]


def _best(part: Part, query: list[str], limit: int) -> list[Found]:
    """A part's best `limit` entries for the query: scanned when it is a listing that can be, else ranked."""
    if isinstance(part, Listing):
        raw = part.raw
        if raw is not None:
            found = _scan(raw, part.count, query, limit)
            if found is not None:
                return found
        part = part.ranked()
    if len(query) == 1:
        ranked = _rank_one(part, query[0], limit)
    else:
        ranked = _rank_many(part.low_paths, part.paths, query, limit)
    paths, low_paths, low_names, names, is_dir = part.paths, part.low_paths, part.low_names, part.names, part.is_dir
    return [
        (-score, paths[entry], low_paths[entry], low_names[entry], names[entry], bool(is_dir[entry]))
        for entry, score in ranked.items()
    ]


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
    memo: Memo | None = None,
) -> list[Match]:
    """Best `limit` matches over every root's parts: score descending, then path, then root order.

    `superseded` is asked before each part (a few milliseconds of work at most); when it says yes the
    search raises `Superseded` instead of finishing an answer nobody will send. `memo` keeps each part's
    best entries for this query and limit, so a session asking again as its walk publishes more parts
    searches only the new ones.
    """
    parsed = atoms(query)
    if not parsed or limit <= 0:
        return []
    hits: list[tuple[int, str, int, str, Found]] = []
    searched: Memo = {}
    for order, (root, view) in enumerate(views):
        for part in view:
            if superseded is not None and superseded():
                raise Superseded(query)
            known = memo.get(id(part)) if memo is not None else None
            best = known[1] if known is not None and known[0] is part else _best(part, parsed, limit)
            searched[id(part)] = (part, best)
            hits.extend((found[0], found[1], order, root, found) for found in best)
    if memo is not None:  # only what this search read: parts a refresh replaced must not stay alive here
        memo.clear()
        memo.update(searched)
    hits.sort(key=_RANK)
    matches = []
    for negative, path, _, root, (_, _, low_path, low_name, name, is_dir) in hits[:limit]:
        if len(parsed) == 1:  # one atom's positions are already ascending and distinct
            indices = atom_indices(parsed[0], low_path, low_name)
        else:
            indices = sorted({i for atom in parsed for i in atom_indices(atom, low_path, low_name)})
        matches.append(Match(root, path, name, is_dir, -negative, indices))
    return matches


_RANK = operator.itemgetter(0, 1, 2)
"""A hit's order: score descending (it is negated), then path, then the root's position."""
