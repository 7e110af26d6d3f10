"""Turns: from a user's input to streamed items, model calls, shell commands and a final status.

One running turn per thread at a time, run as an asyncio task so `turn/interrupt` is a cancellation.
Everything the model must see on later turns is appended to the thread's model history (and rollout) as
it happens, so an interrupt or a fork leaves a history that replays correctly. The steps of a turn work
on its `TurnRun` (server.threads.turn); this module only sequences them.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from server.protocol.errors import InvalidRequest
from server.threads import agents, commands, compaction, items, model_request, prompts, review, turn_hooks
from server.threads.collaboration import Collaboration
from server.threads.git import git_info
from server.threads.rollout import Json
from server.threads.stream import ResponseStream, TurnFailed, turn_error
from server.threads.thread import ActiveTurn, Follower, Thread
from server.threads.tools import Tools
from server.threads.turn import ModelTarget, TurnRun, TurnServices

MAX_TOOL_ROUNDS = 32
"""Model round trips in one turn before we stop it: a model that calls tools forever must not spin."""
MAX_STOP_CONTINUATIONS = 3
"""Times Stop hooks may send one turn back to the model; past this the turn ends (hooks loop otherwise)."""


class TurnEngine:
    """Runs turns for every thread of one server."""

    def __init__(self, services: TurnServices) -> None:
        self.services = services
        self.collaboration = Collaboration(services.store, self.start_agent_turn)
        self.tools = Tools({agents.NAMESPACE: self.collaboration.call})

    # ------------------------------------------------------------------ starting and stopping

    def start(self, thread: Thread, text_inputs: list[str], starter: Follower | None = None) -> Json:
        """Begin a model turn; returns the turn's wire object at once (status inProgress)."""
        user_item = items.user_message(text_inputs)
        run = self._begin(thread, starter, user_items=[user_item])
        run.active.steerable = True
        self._launch(run, self._run_model_turn(run, user_item, "\n".join(text_inputs)))
        return {**run.active.turn, "items": []}

    def start_shell(self, thread: Thread, command: str, timeout_ms: int | None, starter: Follower | None) -> None:
        """A user-typed `!` command, run as its own turn without asking the model."""
        run = self._begin(thread, starter)
        self._launch(run, self._run_shell_turn(run, command, timeout_ms))

    def start_compaction(self, thread: Thread, starter: Follower | None) -> None:
        """`thread/compact/start`: a turn of its own that replaces the model-visible history."""
        run = self._begin(thread, starter)
        self._launch(run, compaction.run(run))

    def start_review(self, thread: Thread, hint: str, prompt: str, starter: Follower | None) -> Json:
        """`review/start` (inline): a turn whose response already carries the review request as its item."""
        run = self._begin(thread, starter)
        self._launch(run, review.run(run, hint, prompt))
        return {**run.active.turn, "rootTurnId": None, "items": [review.requested(run.id, hint)]}

    def start_agent_turn(
        self, thread: Thread, message: Json, root_turn_id: str, on_done: Callable[[Thread, str], None]
    ) -> None:
        """A sub-agent's turn on a message from another agent; `on_done(thread, status)` runs when it ends."""
        run = self._begin(thread, None, root_turn_id=root_turn_id)
        self._launch(run, self._run_agent_turn(run, message, on_done))

    def _begin(
        self,
        thread: Thread,
        starter: Follower | None,
        *,
        root_turn_id: str | None = None,
        user_items: list[Any] | None = None,
    ) -> TurnRun:
        if thread.active is not None:
            raise InvalidRequest(f"thread {thread.id} already has an active turn")
        turn = dict(items.turn(root_turn_id))
        thread.add_turn(turn)
        active = ActiveTurn(turn, user_items=user_items or [], starter=starter)
        thread.active = active
        return TurnRun(self.services, thread, active)

    @staticmethod
    def _launch(run: TurnRun, body: Coroutine[Any, Any, None]) -> None:
        run.active.task = asyncio.create_task(body)

    def steer(self, thread: Thread, expected_turn_id: str, text_inputs: list[str]) -> str:
        """Queue more user input for the turn in flight (see `_stream_round`); returns the turn's id."""
        if not text_inputs:
            raise InvalidRequest("input must not be empty")
        active = thread.active
        if active is None or not active.steerable:
            raise InvalidRequest("no active turn to steer")
        turn_id: str = active.turn["id"]
        if turn_id != expected_turn_id:
            raise InvalidRequest(f"expected active turn id `{expected_turn_id}` but found `{turn_id}`")
        active.steer(items.user_message(text_inputs))
        return turn_id

    async def interrupt(self, thread: Thread, turn_id: str) -> None:
        active = thread.active
        if active is None or active.turn["id"] != turn_id or active.task is None:
            raise InvalidRequest("no active turn to interrupt")
        active.task.cancel()

    # ------------------------------------------------------------------ model turns

    async def _run_model_turn(self, run: TurnRun, user_item: items.UserMessageItem, text: str) -> None:
        thread = run.thread
        run.announce_start()
        await turn_hooks.session_start(run)
        run.item_done(user_item)
        if not thread.meta.get("preview"):
            thread.update_meta(preview=text[:200])
        run.remember(prompts.message("user", text))
        try:
            await self._model_rounds(run)
        except asyncio.CancelledError:
            run.remember(prompts.turn_aborted())
            run.finish("interrupted")
            return
        except TurnFailed as failure:
            run.failed(failure.error)
            return
        if thread.meta.get("gitInfo") is None:
            info = await git_info(thread.settings.cwd)
            if info is not None:
                thread.update_meta(gitInfo=info)
        run.notify("thread/readState/changed", {"threadId": thread.id, "readState": thread.read_state()})
        run.finish("completed")

    async def _run_agent_turn(self, run: TurnRun, message: Json, on_done: Callable[[Thread, str], None]) -> None:
        run.announce_start()
        run.remember(message)
        status = "completed"
        try:
            await self._model_rounds(run)
        except asyncio.CancelledError:
            run.remember(prompts.turn_aborted())
            status = "interrupted"
            run.finish(status)
        except TurnFailed as failure:
            status = "failed"
            run.failed(failure.error)
        else:
            run.finish(status)
        on_done(run.thread, status)

    async def _model_rounds(self, run: TurnRun) -> None:
        from server.model.responses import ModelError

        thread = run.thread
        target = self.services.target()
        continuations = 0
        for _ in range(MAX_TOOL_ROUNDS):
            for message in self.collaboration.registry.pending_mail(thread):
                run.remember(message)
            run.take_steered_input()
            stream = ResponseStream(run)
            answered: list[Mapping[str, str]] = []
            try:
                finished = await self._stream_round(run, target, stream, answered)
            except ModelError as exc:
                run.rate_limits_seen(answered)
                raise TurnFailed(turn_error(exc)) from None
            if not finished:
                run.rate_limits_seen(answered)
                continue
            stream.commit()
            if stream.usage is not None:
                run.usage_updated(stream.usage)
            run.rate_limits_seen(answered)
            if not stream.calls and run.active.steered:
                continue
            if not stream.calls:
                blocked = await turn_hooks.stop(run, stream.last_text, continuations > 0)
                if not blocked or continuations >= MAX_STOP_CONTINUATIONS:
                    return
                continuations += 1
                turn_hooks.continue_after_stop(run, blocked)
                continue
            for call in stream.calls:
                output = await self.tools.call(run, call)
                run.remember({"type": "function_call_output", "call_id": call["call_id"], "output": output})
        raise TurnFailed(
            {
                "message": f"turn stopped after {MAX_TOOL_ROUNDS} model round trips",
                "codexErrorInfo": "other",
                "additionalDetails": None,
            }
        )

    @staticmethod
    async def _stream_round(
        run: TurnRun, target: ModelTarget, stream: ResponseStream, answered: list[Mapping[str, str]]
    ) -> bool:
        """One model request, streamed into `stream`; False when steered input cut it short (the request
        is then sent again with that input, as upstream does)."""
        thread = run.thread

        async def consume() -> None:
            async for event in target.client.stream(
                model_request.body(thread),
                model_request.headers(target.headers, thread),
                on_retry=stream.on_retry,
                on_headers=answered.append,
            ):
                stream.handle(event)

        consuming = asyncio.create_task(consume())
        steering = asyncio.create_task(run.active.steer_arrived.wait())
        try:
            done, _ = await asyncio.wait({consuming, steering}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (consuming, steering):
                if not task.done():
                    task.cancel()
            await asyncio.gather(consuming, steering, return_exceptions=True)
        if consuming in done:
            consuming.result()
            return True
        return False

    # ------------------------------------------------------------------ shell turns

    async def _run_shell_turn(self, run: TurnRun, command: str, timeout_ms: int | None) -> None:
        run.announce_start()
        shell = self.services.shell()
        argv = shell.argv(command)
        spec = commands.Command(
            argv,
            shlex.join(argv),
            run.settings.cwd,
            "userShell",
            timeout_ms=timeout_ms,
            per_exec_approval=shell.patched,
        )
        try:
            _, result = await commands.run(run, spec)
        except asyncio.CancelledError:
            run.finish("interrupted")
            return
        assert result is not None  # user commands are never sent for approval
        run.remember(prompts.user_shell_command(command, result.exit_code, result.duration_ms / 1000, result.output))
        run.finish("completed")
