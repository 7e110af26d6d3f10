"""The patched zsh (`EXEC_WRAPPER` fork): pinned sources, the patch, and the build/smoke/package pipeline.

The pipeline is `fetch -> verify -> extract -> patch -> configure -> make -> smoke -> stage -> package`; each
step is a function in its own module taking explicit paths under one work dir, so a rerun resumes from
verified inputs instead of trusting whatever a previous run left behind.
"""
