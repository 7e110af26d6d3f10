"""The server's second core for a walk: a child process that walks the subtrees the server hands it.

A first walk is most of what a fresh search waits for, and it holds the GIL for most of its time (one
DirEntry built per entry), so a second thread gained only 15-23%. `WalkHelper.fork()` forks a child at
server start, before any thread or event loop exists (a fork made later could copy a lock some other
thread holds, and the child would wait on it forever). The child walks subtrees with the same
`server.search.walker.Tree` code and sends their directory nodes back, pickled, in batches.

During a walk (`Tree.walk(offload)`), whenever the child is free the server hands it the subtree it would
reach last, so the two processes walk from both ends of the pending list until they meet. A subtree's
nodes count only once all of them have arrived, so a child that fails, dies or stalls costs that subtree
a walk in the server, never an entry.

A fresh server reads its first search request while it is still loading asyncio and the handlers (60-70
ms on 2 cores, more than a walk of 10,000 files): `walk_ahead(root)` starts the child on that whole root
at once. The walk the request then makes adopts it instead of starting its own: the child stops, hands
over what it walked and the subtrees it had not reached, and from there the two share them out as in any
walk. The child buffers what the pipe does not take, so it walks on while the server is not reading yet.

Frames are an 8-byte length and a pickle, over two pipes private to the two processes (nothing else can
write to them, so unpickling is safe): to the child `(root, job)`, `(root, None)` for a walk ahead, and
None to stop that; from it `("nodes", [DirNode, ...])` batches, then `("done", None)`, `("rest", [Job,
...])` for a walk ahead, or `("failed", reason)`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.search.walker import DirNode, Job

HEADER = 8
"""Bytes of a frame's length, big-endian, before its pickle."""
BATCH_ENTRIES = 4096
"""Entries per batch the child sends: about 5 ms of walking, so the server unpickles as they come."""
STALL_SECONDS = 10.0
"""A child that sends nothing for this long is taken for stuck: killed, and its subtree walked here."""
READ_CHUNK = 1 << 20

_shared: WalkHelper | None = None


def start() -> None:
    """Fork the process's helper; the server calls this before it starts any thread."""
    global _shared
    if _shared is None:
        _shared = WalkHelper.fork()


def walk_ahead(root: str) -> bool:
    """Start the helper on all of `root` now, for the walk a request being read will make; False when
    there is no helper or it is busy. That walk adopts it (`offload`); a walk of another root first
    stops it and drops what it found."""
    helper = _shared
    if helper is None or not helper.alive or not helper.lock.acquire(blocking=False):
        return False
    ahead = Offload(helper, root)
    if not ahead.take_all():
        helper.lock.release()
        return False
    helper.ahead = ahead
    return True


@contextlib.contextmanager
def offload(root: str) -> Iterator[Offload | None]:
    """The helper for one walk of `root`, or None when there is none or another walk is using it."""
    helper = _shared
    if helper is None or not helper.alive:
        yield None
        return
    walk = helper.take_ahead()
    if walk is None:
        if not helper.lock.acquire(blocking=False):
            yield None
            return
        walk = Offload(helper, root)
    elif walk.root != root:
        walk.settle()  # it walked a root nobody asked for after all
        walk = Offload(helper, root)
    try:
        yield walk
    finally:
        walk.settle()
        helper.lock.release()


class WalkHelper:
    """The server's end of the child: its pid and pipes, and a lock so one walk uses it at a time."""

    def __init__(self, pid: int, jobs: int, results: int) -> None:
        self.pid = pid
        self._jobs = jobs
        self._results = results
        self.lock = threading.Lock()
        """Held by the walk using the child, or by the walk ahead (`ahead`) until a walk adopts it."""
        self.ahead: Offload | None = None
        self._taking = threading.Lock()
        self.alive = True

    @classmethod
    def fork(cls) -> WalkHelper | None:
        """Fork the child (None where the platform has no fork, or where a thread already runs). Only
        this module is loaded for it; the child imports the walker at its first job, so the server's
        start-up pays for the fork alone (about a millisecond)."""
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return None
        jobs_read, jobs_write = os.pipe()
        results_read, results_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            try:
                os.close(jobs_write)
                os.close(results_read)
                # The client's pipes stay the server's alone: a reader of our stdout or stderr must see
                # end-of-file when the server exits, not when the child does.
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's ^C is the server's to handle
                _serve(jobs_read, results_write)
            finally:
                os._exit(0)
        os.close(jobs_read)
        os.close(results_write)
        return cls(pid, jobs_write, results_read)

    def take_ahead(self) -> Offload | None:
        """The walk ahead, with the lock it holds, for one caller only."""
        with self._taking:
            ahead, self.ahead = self.ahead, None
        return ahead

    def read(self, block: bool) -> bytes | None:
        """Bytes from the child: b"" when none are waiting (and `block` is false), None once it is gone."""
        import select

        poller = select.poll()
        poller.register(self._results, select.POLLIN)
        if not poller.poll(STALL_SECONDS * 1000 if block else 0):
            if block:
                self.fail(f"it sent nothing for {STALL_SECONDS:g} s")
                return None
            return b""
        try:
            data = os.read(self._results, READ_CHUNK)
        except OSError:
            data = b""
        if not data:
            self.fail("it exited")
            return None
        return data

    def send(self, message: object) -> bool:
        try:
            os.write(self._jobs, _frame(message))
        except OSError as exc:
            self.fail(f"it cannot be written to ({exc.strerror})")
            return False
        return True

    def fail(self, reason: str) -> None:
        """Stop using the child for good: kill it and collect it; walks stay in this process from now on."""
        if not self.alive:
            return
        self.alive = False
        print(
            f"app-server: walk helper {self.pid} dropped: {reason}; walking in one process", file=sys.stderr, flush=True
        )
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)
        for fd in (self._jobs, self._results):
            with contextlib.suppress(OSError):
                os.close(fd)


class Offload:
    """One walk's use of the helper: at most one subtree out at a time (`server.search.walker.Offload`)."""

    def __init__(self, helper: WalkHelper, root: str) -> None:
        self._helper = helper
        self.root = root
        self._job: Job | None = None
        self._whole = False
        """The child walks the whole root, for a walk that has not adopted it yet (`adopt`)."""
        self._nodes: list[DirNode] = []
        self._rest: list[Job] = []
        self._buffer = bytearray()

    @property
    def busy(self) -> bool:
        return self._job is not None or self._whole

    def take(self, job: Job) -> bool:
        """Hand `job` to the child if it is free and alive."""
        if self.busy or not self._helper.alive:
            return False
        if not self._helper.send((self.root, job)):
            return False
        self._job = job
        return True

    def take_all(self) -> bool:
        """Start the child on the whole root, before any walk of it has started."""
        if self.busy or not self._helper.alive or not self._helper.send((self.root, None)):
            return False
        self._whole = True
        return True

    def adopt(self, start: Job) -> tuple[list[DirNode], list[Job]] | None:
        """None unless the child walks the whole root. Then it is told to stop, and what it walked comes
        back with the subtrees it had not reached, which the two processes share from here as any walk's;
        if the child cannot say, the walk from `start` is walked here from scratch."""
        if not self._whole:
            return None
        self._whole, self._job = False, start
        if not self._helper.send(None):
            self._job = None
            return [], [start]
        done = self._collect(start, block=True)
        assert done is not None  # a blocking collect always ends the job
        nodes, rest = done[1], self._rest
        self._rest = []
        return (nodes, rest) if nodes is not None else ([], [start])

    def finished(self, block: bool) -> tuple[Job, list[DirNode] | None] | None:
        """The job out, with all its nodes once the child is done with it (None: walk it here); None while
        it is still under way. With `block`, waits for it."""
        job = self._job
        if job is None:
            return None
        return self._collect(job, block)

    def settle(self) -> None:
        """A walk that stops with a job out (an error, or its caller stopped early) waits for it, so the
        next walk does not read this one's frames; a child that does not answer is dropped instead. A walk
        ahead that no walk adopted is stopped, and what it found is dropped."""
        while self._job is not None and self._helper.alive:
            self.finished(block=True)
        if self._whole:
            self._whole = False
            if self._helper.send(None):
                self._collect(None, block=True)
            self._rest = []

    def _collect(self, job: Job | None, block: bool) -> tuple[Job, list[DirNode] | None] | None:
        while True:
            message = self._next_frame()
            if message is None:
                data = self._helper.read(block)
                if data is None:
                    return self._end(job, None)
                if not data:
                    return None
                self._buffer += data
                continue
            kind, payload = message
            if kind == "nodes":
                self._nodes.extend(payload)
            elif kind == "done":
                return self._end(job, self._nodes)
            elif kind == "rest":
                self._rest = payload
                return self._end(job, self._nodes)
            else:
                print(f"app-server: walk helper: {payload}", file=sys.stderr, flush=True)
                return self._end(job, None)

    def _end(self, job: Job | None, nodes: list[DirNode] | None) -> tuple[Job, list[DirNode] | None] | None:
        self._job, self._nodes = None, []
        return None if job is None else (job, nodes)

    def _next_frame(self) -> Any:
        import pickle

        if len(self._buffer) < HEADER:
            return None
        end = HEADER + int.from_bytes(self._buffer[:HEADER], "big")
        if len(self._buffer) < end:
            return None
        message = pickle.loads(self._buffer[HEADER:end])  # noqa: S301 - our own child, through a private pipe
        del self._buffer[:end]
        return message


def _frame(message: object) -> bytes:
    """Pickled `message` after its length. pickle loads with the first walk, not with the server."""
    import pickle

    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(HEADER, "big") + data


def _serve(jobs: int, results: int) -> None:
    """The child's loop: walk each subtree asked for, send its nodes in batches; return at end of input.

    A walk of the whole root (a job of None) goes on until its walk adopts it, which a frame of None says:
    the child then sends what it walked and what it had not reached (`("rest", [Job, ...])`)."""
    import pickle
    import select

    from server.search.walker import Tree

    sender = _Sender(results)
    told = select.poll()
    told.register(jobs, select.POLLIN)

    def adopted() -> bool:
        return bool(told.poll(0))  # the frame itself is read, and skipped, by the loop below

    while True:
        header = _read_exactly(jobs, HEADER)
        if header is None:
            return
        frame = _read_exactly(jobs, int.from_bytes(header, "big"))
        if frame is None:
            return
        message = pickle.loads(frame)  # noqa: S301 - from our parent, through a private pipe
        if message is None:
            continue  # told to stop a walk ahead that had ended already
        root, job = message
        rest: list[Job] = []
        try:
            batch: list[DirNode] = []
            entries = 0
            for node in Tree(root).walk_until(adopted, rest) if job is None else Tree(root).walk_below(job):
                batch.append(node)
                entries += len(node.files) + len(node.dirs) + 1
                if entries >= BATCH_ENTRIES:
                    sender.send(("nodes", batch))
                    batch, entries = [], 0
            sender.send(("nodes", batch))
            sender.send(("rest", rest) if job is None else ("done", None), last=True)
        except BrokenPipeError:
            return  # the server is gone
        except Exception as exc:  # the server walks the subtree itself; say why
            where = root if job is None else f"{root}/{job[0]}"
            sender.send(("failed", f"walking {where} failed: {type(exc).__name__}: {exc}"), last=True)


def _read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from the pipe, or None at its end. Unbuffered: a buffered reader could take a frame
    telling a walk ahead to stop off the pipe before the walk polls for it."""
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


class _Sender:
    """The child's frames to the server. What the pipe does not take waits here, so a walk ahead goes on
    while the server is still loading and not reading; each job's last frame waits until all is out."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._pending = bytearray()

    def send(self, message: object, *, last: bool = False) -> None:
        import select

        self._pending += _frame(message)
        self._write()
        while last and self._pending:
            poller = select.poll()
            poller.register(self._fd, select.POLLOUT)
            poller.poll()
            self._write()

    def _write(self) -> None:
        """As much as the pipe takes now; BrokenPipeError once the server is gone."""
        while self._pending:
            try:
                written = os.write(self._fd, self._pending)
            except BlockingIOError:
                return
            del self._pending[:written]
