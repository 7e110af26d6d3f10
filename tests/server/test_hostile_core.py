"""The core under hostile input and output: strict decoding, an encoder that cannot kill the writer, a
supervisor that ends a connection whose writer died, and in-flight counting that counts real work."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from server.rpc import (
    MAX_NESTING,
    Connection,
    Dispatch,
    Ignored,
    ServerInfo,
    UnencodableMessage,
    nesting_depth_exceeds,
    wire_bytes,
)
from server.runner import ConnectionRunner
from server.session import ServerContext, Session
from tests.server.test_runner import INIT, Pipe, Table, call, start


def initialized() -> Connection:
    connection = Connection(ServerInfo(Path("/h")), lambda: Table({"t/echo": echo}))
    connection.receive(INIT)
    return connection


async def echo(session: Session, params: Any) -> Any:
    return params


def deep(depth: int) -> str:
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return '{"id":1,"method":"t/echo","params":{"x":' + inner + "}}"


def test_nesting_up_to_the_limit_is_accepted_and_one_more_is_ignored() -> None:
    assert isinstance(initialized().receive(deep(MAX_NESTING)), Dispatch)
    event = initialized().receive(deep(MAX_NESTING + 1))
    assert isinstance(event, Ignored)
    assert event.log is not None
    assert "nests deeper" in event.log


@pytest.mark.parametrize("depth", [1000, 200_000])
def test_nesting_far_past_any_recursion_limit_is_ignored_without_raising(depth: int) -> None:
    assert isinstance(initialized().receive(deep(depth)), Ignored)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"id": 1, "method": "t/echo", "params": {"x": "[" * 500 + '\\"' + "{" * 500}})
    assert not nesting_depth_exceeds(text)
    assert isinstance(initialized().receive(text), Dispatch)


@pytest.mark.parametrize(
    "line",
    [
        b'{"id":"\\ud800","method":"t/echo","params":{}}',
        b'{"id":1,"method":"t/echo","params":{"k":"\\uDFFF"}}',
        b'{"id":1,"method":"t/echo","params":{"\\udc80":1}}',
        b'{"id":1,"method":"t/echo","params":{"k":"\xed\xa0\x80"}}',
        b'{"id":1,"method":"t/echo","params":{"k":"\xff"}}',
    ],
)
def test_lone_surrogates_and_invalid_utf8_are_undecodable(line: bytes) -> None:
    assert isinstance(initialized().receive(line), Ignored)
    assert isinstance(initialized().receive(line.decode("utf-8", "surrogateescape")), Ignored)


def test_an_escaped_pair_and_an_escaped_backslash_are_fine() -> None:
    event = initialized().receive(b'{"id":1,"method":"t/echo","params":{"a":"\\ud83d\\ude00","b":"\\\\ud800"}}')
    assert isinstance(event, Dispatch)
    assert event.params == {"a": "\U0001f600", "b": "\\ud800"}


def test_file_names_that_are_not_utf8_go_out_lossy_like_rust_to_string_lossy() -> None:
    name = b"bad\xff-\xe2\x82-ok".decode("utf-8", "surrogateescape")
    assert wire_bytes(json.dumps({"p": name}, ensure_ascii=False)).decode() == '{"p": "bad\ufffd-\ufffd-ok"}'
    assert wire_bytes("plain") == b"plain"


def test_a_lone_surrogate_no_file_name_explains_cannot_be_encoded() -> None:
    with pytest.raises(UnencodableMessage):
        wire_bytes('{"p":"\ud800"}')


def test_a_result_that_cannot_be_encoded_is_answered_as_an_internal_error() -> None:
    connection = initialized()
    assert isinstance(connection.receive(call(1, "t/echo")), Dispatch)
    connection.started()
    for bad in ({"x": "\ud800"}, {"x": float("nan")}, {"x": object()}):
        answer = json.loads(connection.finish(1, bad))
        assert answer["id"] == 1
        assert answer["error"]["code"] == -32603
        connection.started()


def test_an_unencodable_notification_is_dropped_and_the_writer_goes_on() -> None:
    async def scenario() -> None:
        async def noisy(session: Session, params: Any) -> dict[str, Any]:
            session.notify("t/bad", {"x": "\ud800"})
            session.notify("t/good", {"x": "bad\udcff"})
            return {"path": "bad\udcff", "lone": "\ud800" if params.get("lone") else ""}

        pipe, _, task = start({"t/noisy": noisy})
        pipe.inbox.put_nowait(call(1, "t/noisy"))
        assert (await pipe.response(1))["result"] == {"path": "bad\ufffd", "lone": ""}
        pipe.inbox.put_nowait(call(2, "t/noisy", {"lone": True}))
        pipe.inbox.put_nowait(call(3, "t/noisy"))
        assert (await pipe.response(2))["error"]["code"] == -32603
        assert "result" in await pipe.response(3)
        for _ in range(100):
            if sum(m.get("method") == "t/good" for m in pipe.sent) == 3:
                break
            await asyncio.sleep(0.01)
        assert [m["params"] for m in pipe.sent if m.get("method") == "t/good"] == [{"x": "bad\ufffd"}] * 3
        assert not any(m.get("method") == "t/bad" for m in pipe.sent)
        pipe.inbox.put_nowait(None)
        await task

    asyncio.run(scenario())


def test_a_dead_writer_ends_the_connection_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        pipe = Pipe()

        async def broken_send(batch: list[bytes]) -> None:
            raise RuntimeError("boom")

        connection = Connection(ServerInfo(Path("/h")), lambda: Table({"t/echo": echo}))
        runner = ConnectionRunner(ServerContext(Path("/h")), connection, broken_send)
        pipe.inbox.put_nowait(INIT)
        await asyncio.wait_for(runner.run(pipe.incoming()), 10)  # input never ends: only the supervisor returns

    asyncio.run(scenario())
    assert "closing the connection: the writer failed: RuntimeError" in capsys.readouterr().err


def test_a_burst_of_instant_requests_is_not_refused_as_overload() -> None:
    """Requests dispatched in one read but not started yet are not load: 2000 of them against a limit of 8."""

    async def scenario() -> None:
        pipe = Pipe()
        connection = Connection(ServerInfo(Path("/h")), lambda: Table({"t/echo": echo}), max_in_flight=8)
        runner = ConnectionRunner(ServerContext(Path("/h")), connection, pipe.send)
        for line in [INIT, *(call(i, "t/echo") for i in range(1, 2001)), None]:
            pipe.inbox.put_nowait(line)
        await runner.run(pipe.incoming())
        answers = [m for m in pipe.sent if m.get("id") != 0]
        assert len(answers) == 2000
        assert not [m for m in answers if "error" in m]

    asyncio.run(scenario())
