"""Account changes take effect in request order, even when a client sends them all in one write.

Measured on upstream 0.163: a pipelined `login; logout` ends logged out and eight pipelined logins leave the
last key, every time. The last `account/updated` names what is on disk.
"""

from __future__ import annotations

import json

from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.sync import Client
from tests.integration.account_support import auth_json

TRIALS = 40
LOGINS = 8


def _pipeline(client: Client, requests: list[tuple[str, str, object]]) -> None:
    """Send every request in one write (one line each) and wait until each is answered without error."""
    lines = [json.dumps({"id": rid, "method": method, "params": params}) for rid, method, params in requests]
    client.send_raw("\n".join(lines))
    for rid, _, _ in requests:
        response = client.wait_for_response(rid)
        assert "error" not in response, response


def _last_updated(client: Client) -> dict[str, object]:
    client.settle()
    updates = client.drain("account/updated")
    assert updates, "no account/updated"
    return dict(updates[-1].params)


def test_pipelined_login_then_logout_ends_logged_out(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    assert client.codex_home is not None
    in_order = 0
    for trial in range(TRIALS):
        login = {"type": "apiKey", "apiKey": f"sk-order-{trial}"}
        _pipeline(client, [(f"in-{trial}", "account/login/start", login), (f"out-{trial}", "account/logout", None)])
        on_disk = (client.codex_home / "auth.json").exists()
        account = client.request("account/read", {})["account"]
        updated = _last_updated(client)
        in_order += not on_disk and account is None and updated["authMode"] is None
    assert in_order == TRIALS


def test_pipelined_logins_leave_the_last_key(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    for trial in range(TRIALS // 8):
        keys = [f"sk-trial-{trial}-login-{n}" for n in range(LOGINS)]
        requests = [
            (f"{trial}-{n}", "account/login/start", {"type": "apiKey", "apiKey": key}) for n, key in enumerate(keys)
        ]
        _pipeline(client, requests)
        assert auth_json(client) == {"auth_mode": "apikey", "OPENAI_API_KEY": keys[-1]}
        token = client.request("getAuthStatus", {"includeToken": True})["authToken"]
        assert token == keys[-1]
        assert _last_updated(client)["authMode"] == "apikey"
