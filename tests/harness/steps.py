"""Readable constructors for fake-server script steps."""

from __future__ import annotations

from typing import Any


def notify(method: str, **params: Any) -> dict[str, Any]:
    return {"notify": method, "params": params}


def expect(method: str) -> dict[str, Any]:
    return {"expect": method}


def reply(method: str, result: Any = None) -> dict[str, Any]:
    return {"reply": method, "result": {} if result is None else result}


def on(method: str, result: Any) -> dict[str, Any]:
    return {"on": method, "result": result}


def request(method: str, request_id: int | str, **params: Any) -> dict[str, Any]:
    return {"request": method, "id": request_id, "params": params}


def await_answer(request_id: int | str) -> dict[str, Any]:
    return {"await_answer": request_id}


def sleep(seconds: float) -> dict[str, Any]:
    return {"sleep": seconds}


def stderr(text: str) -> dict[str, Any]:
    return {"stderr": text}


def stdout(text: str) -> dict[str, Any]:
    return {"stdout": text}


def exit_with(code: int) -> dict[str, Any]:
    return {"exit": code}
