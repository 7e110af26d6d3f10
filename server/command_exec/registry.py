"""The running `command/exec` processes of one connection, by client-chosen `processId`.

Process ids are connection-scoped (upstream's schema): each connection has its own registry, and the end of
the connection's input kills what it started at once, without answering for it, as upstream 0.163 does.
"""

from __future__ import annotations

from server.command_exec.process import ExecProcess


class UnknownProcess(LookupError):
    def __init__(self, process_id: str) -> None:
        super().__init__(f"no active command/exec for process id {_quoted(process_id)}")


class DuplicateProcess(ValueError):
    def __init__(self, process_id: str) -> None:
        super().__init__(f"duplicate active command/exec process id: {_quoted(process_id)}")


def _quoted(process_id: str) -> str:
    """Rust's Debug quoting of a string, which upstream's messages use."""
    escaped = process_id.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class CommandExecs:
    def __init__(self) -> None:
        self._running: dict[str, ExecProcess] = {}
        self._unnamed: set[ExecProcess] = set()
        """Processes started without a `processId`: no follow-up reaches them, but the connection's end does."""

    def reserve(self, process_id: str | None, process: ExecProcess) -> None:
        if process_id is None:
            self._unnamed.add(process)
            return
        if process_id in self._running:
            raise DuplicateProcess(process_id)
        self._running[process_id] = process

    def release(self, process_id: str | None, process: ExecProcess) -> None:
        self._unnamed.discard(process)
        if process_id is not None and self._running.get(process_id) is process:
            del self._running[process_id]

    def get(self, process_id: str) -> ExecProcess:
        process = self._running.get(process_id)
        if process is None:
            raise UnknownProcess(process_id)
        return process

    async def input_ended(self) -> None:
        """The client is gone: abandon every running process (each one's request then gets no response)."""
        for process in [*self._running.values(), *self._unnamed]:
            process.abandon()

    async def aclose(self) -> None:
        await self.input_ended()
        self._running.clear()
        self._unnamed.clear()
