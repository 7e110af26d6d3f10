"""Fuzzy file search: the walk (ignore rules, symlinks), the index kept per root, the matcher, sessions.

Layering: `walker` and `ignore` touch the filesystem; `index` owns what a walk found and keeps it current
by re-checking directory mtimes; `matcher` is pure (snapshots in, ranked matches out); `oneshot` serves
`fuzzyFileSearch` from a per-process index cache with cancellation tokens; `sessions` indexes, watches and
answers queries for one connection. Handlers (server.handlers.search) only translate wire models.
"""
