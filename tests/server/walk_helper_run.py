"""Run as `python -m tests.server.walk_helper_run ROOT MODE`: forks the walk helper while single-threaded
(as the server does at start), walks ROOT with it and without it, and prints what a test compares.

MODE is `plain`, `killed` (the child is killed once it has a subtree), or `stalled` (the child is stopped
once it has a subtree, and the stall bound is cut to half a second); or, with the child walking ahead
(`helper.walk_ahead`) before the walk starts: `ahead` (of ROOT, adopted at once), `ahead-finished` (of
ROOT, adopted two seconds later, when the child has long walked all of it), `ahead-killed` (of ROOT, and
the child is killed at once), `ahead-elsewhere` (of a directory under ROOT, which no walk asks for).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from server.search import helper
from server.search.walker import DirNode, Job, Tree


def main(root: str, mode: str) -> None:
    helper.start()
    shared = helper._shared
    assert shared is not None, "the helper must fork in a single-threaded process"
    taken: list[str] = []
    take = helper.Offload.take

    def counting_take(self: helper.Offload, job: Job) -> bool:
        handed = take(self, job)
        if handed:
            taken.append(job[0])
            if mode == "killed" and len(taken) == 1:
                os.kill(shared.pid, signal.SIGKILL)
            if mode == "stalled" and len(taken) == 1:
                os.kill(shared.pid, signal.SIGSTOP)
        return handed

    adopted: list[tuple[str, int, int]] = []
    adopt = helper.Offload.adopt

    def recording_adopt(self: helper.Offload, start: Job) -> tuple[list[DirNode], list[Job]] | None:
        handed = adopt(self, start)
        if handed is not None:
            adopted.append((self.root, len(handed[0]), len(handed[1])))
        return handed

    helper.Offload.take = counting_take  # type: ignore[method-assign]
    helper.Offload.adopt = recording_adopt  # type: ignore[method-assign]
    if mode == "stalled":
        helper.STALL_SECONDS = 0.5
    alone, helped = Tree(root), Tree(root)
    alone.walk_all()
    if mode.startswith("ahead"):
        assert helper.walk_ahead(os.path.join(root, "pkg1") if mode == "ahead-elsewhere" else root)
        if mode == "ahead-killed":
            os.kill(shared.pid, signal.SIGKILL)
        if mode == "ahead-finished":
            time.sleep(2)
    with helper.offload(root) as offload:
        assert offload is not None
        for _ in helped.walk(offload):
            pass
    print(
        json.dumps(
            {
                "alone": sorted(alone.entries()),
                "helped": sorted(helped.entries()),
                "nodes_alone": sorted(alone.nodes),
                "nodes_helped": sorted(helped.nodes),
                "taken": taken,
                "adopted": adopted,
                "alive": shared.alive,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
