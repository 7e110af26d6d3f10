"""The pytest plugin, run on real inner test sessions with the fake server as --app-server."""

from __future__ import annotations

import secrets
import shlex
from pathlib import Path

import pytest

from codex_app_harness.pytest_plugin import server_command
from codex_app_harness.transports import default_env
from codex_app_harness.websocket_server import WebSocketServer
from tests.harness.conftest import FakeScript, InnerPytest
from tests.harness.steps import exit_with, expect, on, reply, stderr

REPO = Path(__file__).resolve().parents[2]
INIT_RESULT = {"userAgent": "fake/0", "codexHome": "/", "platformFamily": "unix", "platformOs": "linux"}
INITIALIZE = on("initialize", INIT_RESULT)


def app_server_option(fake_script: FakeScript, *steps: dict[str, object]) -> str:
    return "--app-server=" + shlex.join(fake_script(INITIALIZE, *steps))


def test_a_failed_test_carries_its_server_stderr_and_chaos_seed(
    inner_pytest: InnerPytest, fake_script: FakeScript
) -> None:
    inner_pytest.makepyfile(
        """
        def test_waits_for_something_that_never_comes(app_server):
            app_server.wait_for("turn/completed", timeout=30)
        """
    )
    dying = (expect("initialize"), reply("initialize", INIT_RESULT), stderr("server says: unreachable"), exit_with(2))
    result = inner_pytest.run("--app-server=" + shlex.join(fake_script(*dying)), "--harness-chaos=5")
    result.assert_outcomes(failed=1)
    result.fnmatch_lines(
        [
            "*ServerExited: *exited with code 2 while waiting for turn/completed()*",
            "*- app-server #0 stderr -*",
            "server says: unreachable",
            "*- harness chaos -*",
            "chaos seed 5 (rerun with --harness-chaos=5)",
        ]
    )


def test_a_passing_test_carries_no_server_sections(inner_pytest: InnerPytest, fake_script: FakeScript) -> None:
    inner_pytest.makepyfile("def test_ok(app_server):\n    assert app_server.init_result['userAgent'] == 'fake/0'\n")
    result = inner_pytest.run(app_server_option(fake_script, stderr("noise")), "-rA")
    result.assert_outcomes(passed=1)
    assert "app-server #0 stderr" not in result.output


def test_every_test_gets_its_own_home_and_directory_under_xdist(
    inner_pytest: InnerPytest, fake_script: FakeScript, tmp_path: Path
) -> None:
    homes = tmp_path / "homes.txt"
    inner_pytest.makepyfile(
        f"""
        import os
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_isolated(app_server_factory, n):
            client = app_server_factory()
            env = client.wait_for("fake/env")
            assert env["CODEX_HOME"] == str(client.codex_home)
            assert env["HOME"] == env["cwd"] == str(client.codex_home.parent)
            assert not (client.codex_home / "marker").exists()
            (client.codex_home / "marker").write_text(str(n))
            with open({str(homes)!r}, "a") as out:
                out.write(env["CODEX_HOME"] + "\\n")
        """
    )
    result = inner_pytest.run(app_server_option(fake_script, {"env": ["CODEX_HOME", "HOME"]}), "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=4)
    assert len(set(homes.read_text().split())) == 4


def test_a_test_needing_its_own_server_fails_clearly_against_a_shared_url(inner_pytest: InnerPytest) -> None:
    inner_pytest.makepyfile("def test_custom(app_server_factory):\n    app_server_factory(config_toml='x = 1')\n")
    result = inner_pytest.run("--app-server-url=ws://127.0.0.1:9")
    result.assert_outcomes(failed=1)
    result.fnmatch_lines(["*this test starts its own server (config_toml)*run it without --app-server-url*"])


def test_app_server_url_drives_a_running_websocket_server_with_a_bearer_token(
    inner_pytest: InnerPytest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = secrets.token_hex(32)
    token_file = tmp_path / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    home = tmp_path / "home" / "codex"
    home.mkdir(parents=True)
    listen = ["--listen", "ws://127.0.0.1:0", "--ws-auth", "capability-token", "--ws-token-file", str(token_file)]
    server = WebSocketServer.start(
        [*server_command("python"), *listen], env=default_env(home, {"PYTHONPATH": str(REPO)}), cwd=home.parent
    )
    try:
        inner_pytest.makepyfile(
            """
            def test_shared(app_server):
                assert app_server.request("fs/getMetadata", {"path": "/"})["isDirectory"] is True
            """
        )
        monkeypatch.setenv("APP_SERVER_TOKEN", token)
        inner_pytest.run(f"--app-server-url={server.url}").assert_outcomes(passed=1)
        inner_pytest.run(f"--app-server={server.url}").assert_outcomes(passed=1)
        monkeypatch.setenv("APP_SERVER_TOKEN", "not-the-token")
        refused = inner_pytest.run(f"--app-server-url={server.url}")
        refused.assert_outcomes(errors=1)
        refused.fnmatch_lines(["*401*"])
    finally:
        server.close()


def test_a_chaos_seed_that_is_not_a_number_is_a_usage_error(inner_pytest: InnerPytest) -> None:
    inner_pytest.makepyfile("def test_nothing():\n    pass\n")
    result = inner_pytest.run("--harness-chaos", "test_inner.py")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    result.fnmatch_lines(["*--harness-chaos takes a non-negative integer seed or `last`, got 'test_inner.py'*"])


def test_an_alias_from_the_ini_file_names_a_server_command(inner_pytest: InnerPytest, fake_script: FakeScript) -> None:
    command = shlex.join(fake_script(INITIALIZE, {"env": ["CODEX_HOME"]}))
    (inner_pytest.directory / "pytest.ini").write_text(
        f"[pytest]\napp_server = mine\napp_server_aliases =\n    mine = {command}\n"
    )
    inner_pytest.makepyfile(
        """
        def test_alias(app_server, app_server_kind):
            assert app_server_kind == "mine"
            assert app_server.wait_for("fake/env")["CODEX_HOME"] == str(app_server.codex_home)
        """
    )
    inner_pytest.run().assert_outcomes(passed=1)


def test_a_malformed_alias_is_a_usage_error(inner_pytest: InnerPytest) -> None:
    (inner_pytest.directory / "pytest.ini").write_text("[pytest]\napp_server_aliases = no-command-here\n")
    inner_pytest.makepyfile("def test_nothing():\n    pass\n")
    result = inner_pytest.run()
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    result.fnmatch_lines(["*app_server_aliases: expected `NAME = COMMAND`, got 'no-command-here'*"])
