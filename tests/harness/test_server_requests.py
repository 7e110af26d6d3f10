"""Server->client requests: answered by responders, or taken by the test and answered explicitly."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.harness.conftest import FakeScript, FakeServer
from tests.harness.steps import await_answer, expect, reply, request

APPROVAL = "item/commandExecution/requestApproval"


def test_a_static_responder_answers_every_request_of_its_method(fake_server: FakeServer) -> None:
    client = fake_server(
        expect("test/go"),
        reply("test/go"),
        request(APPROVAL, 1),
        await_answer(1),
        request(APPROVAL, 2),
        await_answer(2),
    )
    client.respond_to(APPROVAL, {"decision": "accept"})
    client.request("test/go")
    assert client.wait_for("fake/answered", id=1) == {"id": 1, "result": {"decision": "accept"}}
    assert client.wait_for("fake/answered", id=2)["result"] == {"decision": "accept"}


def test_a_callable_responder_sees_the_params(fake_server: FakeServer) -> None:
    client = fake_server(request(APPROVAL, "r1", itemId="c7", command="rm -rf /"), await_answer("r1"))

    def decide(params: dict[str, Any]) -> dict[str, Any]:
        return {"decision": "decline" if "rm" in params["command"] else "accept", "for": params["itemId"]}

    client.respond_to(APPROVAL, decide)
    assert client.wait_for("fake/answered", id="r1")["result"] == {"decision": "decline", "for": "c7"}


def test_a_responder_registered_after_the_request_arrived_still_answers_it(fake_server: FakeServer) -> None:
    client = fake_server(request(APPROVAL, 5), expect("test/go"), reply("test/go"), await_answer(5))
    client.request("test/go")  # the server request was read before this response
    client.respond_to(APPROVAL, {"decision": "accept"})
    assert client.wait_for("fake/answered", id=5)["result"] == {"decision": "accept"}


def test_a_failing_responder_sends_an_internal_error(fake_server: FakeServer) -> None:
    client = fake_server(request(APPROVAL, 1), await_answer(1))

    def broken(_params: dict[str, Any]) -> Any:
        raise ValueError("no opinion")

    client.respond_to(APPROVAL, broken)
    error = client.wait_for("fake/answered", id=1)["error"]
    assert error["code"] == -32603
    assert "ValueError('no opinion')" in error["message"]


def test_an_unhandled_request_is_buffered_and_answered_explicitly(fake_server: FakeServer) -> None:
    client = fake_server(
        request(APPROVAL, 1, itemId="other"), request(APPROVAL, 2, itemId="mine"), await_answer(2), await_answer(1)
    )
    mine = client.wait_for_server_request(APPROVAL, itemId="mine")
    assert (mine.id, mine.params) == (2, {"itemId": "mine"})
    mine.respond({"decision": "accept"})
    assert client.wait_for("fake/answered", id=2)["result"] == {"decision": "accept"}
    other = client.wait_for_server_request(APPROVAL)
    other.fail(-32000, "not today")
    assert client.wait_for("fake/answered", id=1)["error"] == {"code": -32000, "message": "not today"}


def test_an_async_responder_is_awaited(fake_script: FakeScript) -> None:
    from codex_app_harness import AsyncClient

    async def scenario() -> dict[str, Any]:
        async with await AsyncClient.spawn(fake_script(request(APPROVAL, 1, itemId="c1"), await_answer(1))) as client:

            async def decide(params: dict[str, Any]) -> dict[str, Any]:
                await asyncio.sleep(0)
                return {"decision": "accept", "for": params["itemId"]}

            client.respond_to(APPROVAL, decide)
            return await client.wait_for("fake/answered", id=1)

    assert asyncio.run(scenario())["result"] == {"decision": "accept", "for": "c1"}
