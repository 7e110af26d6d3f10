"""The one error type of the release tooling, in a module of its own so every layer can raise it without
importing the command line."""

from __future__ import annotations


class ReleaseError(Exception):
    """A failure the user can act on; printed as one line, exit status 1."""
