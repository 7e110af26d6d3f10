"""Fuzzy file search: the walk (ignore rules, symlinks), the index kept per root, the matcher, live sessions.

Layering: `walker` and `ignore` touch the filesystem, `index` owns what was found and keeps it current,
`matcher` is pure (snapshots in, ranked matches out), `sessions` drives indexing and queries for one
connection. Handlers (server.handlers.search) only translate wire models.
"""
