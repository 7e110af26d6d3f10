"""Which entries the walk skips: `.gitignore` inside git work trees, `.ignore` everywhere.

Upstream walks with ripgrep's `ignore` crate and we reproduce what was measured (protocol notes, section 4,
plus probes of 0.163): `.gitignore` files and `.git/info/exclude` count only when the root or one of its
ancestors holds a `.git` (directory or worktree file); `.ignore` files count with or without git; ignore
files in the root's ancestors apply too; hidden files are never skipped for being hidden. Pattern
semantics (negation, anchoring, `dir/` patterns) are git's, implemented by `pathspec`.

The user's global git excludes file is not read: it depends on the server's HOME rather than the project,
and results that change with whoever runs the server are harder to reason about than a missing rule.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

GITIGNORE = ".gitignore"
DOT_IGNORE = ".ignore"
IGNORE_FILES = frozenset({GITIGNORE, DOT_IGNORE})
"""Every name an ignore file may have: a change inside one can change what the walk lists."""


@dataclass(frozen=True, slots=True)
class Rules:
    """The ignore patterns of one directory; `base` is that directory relative to the walk root ("" = root).

    Ancestors of the root have a base of "../"-free relative paths that never prefix a walked path, so
    their patterns are matched against the path as seen from the ancestor (`prefix` + walked path).
    """

    spec: GitIgnoreSpec
    prefix: str
    """Prepended to a root-relative path to make it relative to the directory that holds the patterns."""
    base: str
    """Root-relative directory the rules apply under ("" for the root and its ancestors)."""


@dataclass(frozen=True, slots=True)
class RuleStack:
    """Rules from the root's ancestors down to the current directory, deepest last."""

    rules: tuple[Rules, ...] = ()
    in_git: bool = False

    def push(self, rules: Rules | None) -> RuleStack:
        return self if rules is None else RuleStack((*self.rules, rules), self.in_git)

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """git's rule: the deepest file with a matching pattern decides; its last matching pattern wins."""
        candidate = rel_path + "/" if is_dir else rel_path
        for rules in reversed(self.rules):
            if rules.base and not candidate.startswith(rules.base + "/"):
                continue
            local = candidate[len(rules.base) + 1 :] if rules.base else candidate
            verdict = rules.spec.check_file(rules.prefix + local).include
            if verdict is not None:
                return verdict
        return False


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return None


def ignore_files(in_git: bool) -> tuple[str, ...]:
    """The ignore file names read in each directory; `.ignore` last so it overrides `.gitignore` there."""
    return (GITIGNORE, DOT_IGNORE) if in_git else (DOT_IGNORE,)


def load_rules(directory: str, names: tuple[str, ...], *, prefix: str = "", base: str = "") -> Rules | None:
    """Patterns of the ignore files present in `directory`, or None when it has none."""
    lines: list[str] = []
    for name in names:
        found = _read_lines(os.path.join(directory, name))
        if found:
            lines.extend(found)
    if not lines:
        return None
    from pathspec import GitIgnoreSpec  # ~15 ms of imports, paid only by a walk that meets an ignore file

    return Rules(GitIgnoreSpec.from_lines(lines), prefix, base)


def _has_git(directory: str) -> bool:
    return os.path.lexists(os.path.join(directory, ".git"))


def root_stack(root: str) -> RuleStack:
    """Rules that apply at `root` before its own ignore files: its ancestors' files and git's exclude file."""
    chain: list[str] = []
    current = os.path.abspath(root)
    while True:
        chain.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    repo = next((directory for directory in chain if _has_git(directory)), None)
    in_git = repo is not None
    stack = RuleStack(in_git=in_git)
    if repo is not None:
        exclude = load_rules(os.path.join(repo, ".git", "info"), ("exclude",), prefix=_relative_prefix(repo, root))
        stack = stack.push(exclude)
    names = ignore_files(in_git)
    for ancestor in reversed(chain[1:]):
        git_names = names if repo is not None and ancestor.startswith(repo) else (DOT_IGNORE,)
        stack = stack.push(load_rules(ancestor, git_names, prefix=_relative_prefix(ancestor, root)))
    return stack


def _relative_prefix(ancestor: str, root: str) -> str:
    relative = os.path.relpath(os.path.abspath(root), ancestor)
    return "" if relative == "." else relative + "/"
