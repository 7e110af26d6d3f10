"""Filesystem domain behind the fs/* methods: path rules, file operations and connection-scoped watches.

Handlers in server.handlers.fs and server.handlers.watch only translate wire models to calls here and errors
back; everything that touches the disk lives in this package so it can be tested without a server.
"""
