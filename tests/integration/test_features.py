"""experimentalFeature/list: the feature table with effective state, and how config changes it."""

from __future__ import annotations

from typing import Any

from codex_app_harness.pytest_plugin import AppServerFactory


def by_name(client: Any) -> dict[str, dict[str, Any]]:
    rows = client.request("experimentalFeature/list", {})["data"]
    return {row["name"]: row for row in rows}


def test_list_reports_stage_default_and_beta_copy(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    result = client.request("experimentalFeature/list", {})
    assert result.get("nextCursor") is None
    features = {row["name"]: row for row in result["data"]}
    assert features["plugins"] == {
        "name": "plugins",
        "stage": "stable",
        "displayName": None,
        "description": None,
        "announcement": None,
        "enabled": True,
        "defaultEnabled": True,
    }
    proxy = features["network_proxy"]
    assert (proxy["stage"], proxy["displayName"], proxy["enabled"]) == ("beta", "Network proxy", False)
    assert {row["stage"] for row in result["data"]} == {"beta", "underDevelopment", "stable", "deprecated", "removed"}
    assert all(row["enabled"] == row["defaultEnabled"] for row in result["data"])


def test_pages_follow_the_cursor(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory()
    everything = [row["name"] for row in client.request("experimentalFeature/list", {})["data"]]
    first = client.request("experimentalFeature/list", {"limit": 2})
    assert [row["name"] for row in first["data"]] == everything[:2]
    assert first["nextCursor"] == "2"
    second = client.request("experimentalFeature/list", {"limit": 2, "cursor": first["nextCursor"]})
    assert [row["name"] for row in second["data"]] == everything[2:4]
    last = client.request("experimentalFeature/list", {"cursor": str(len(everything) - 1)})
    assert [row["name"] for row in last["data"]] == everything[-1:]
    assert last.get("nextCursor") is None


def test_config_and_session_flags_enable_and_disable(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(
        config_toml="[features]\nmemories = true\nshell_tool = false\n", args=["-c", "features.plugins=false"]
    )
    features = by_name(client)
    assert (features["memories"]["enabled"], features["memories"]["defaultEnabled"]) == (True, False)
    assert features["shell_tool"]["enabled"] is False
    assert features["plugins"]["enabled"] is False
    assert client.request("config/read", {})["config"]["features"]["plugins"] is False


def test_pinned_flags_keep_their_default_whatever_the_config(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(
        config_toml="[features]\nundo = true\nitem_ids = false\nunified_exec = false\nelevated_windows_sandbox = true\n"
    )
    features = by_name(client)
    assert (features["undo"]["stage"], features["undo"]["enabled"]) == ("removed", False)
    assert (features["item_ids"]["stage"], features["item_ids"]["enabled"]) == ("removed", True)
    assert (features["unified_exec"]["stage"], features["unified_exec"]["enabled"]) == ("stable", True)
    sandbox = features["elevated_windows_sandbox"]
    assert (sandbox["stage"], sandbox["enabled"]) == ("removed", True)


def test_deprecated_flags_still_work_and_warn(app_server_factory: AppServerFactory, app_server_kind: str) -> None:
    client = app_server_factory(config_toml="[features]\nweb_search_request = true\n")
    row = by_name(client)["web_search_request"]
    assert (row["stage"], row["enabled"]) == ("deprecated", True)
    if app_server_kind == "codex":
        # upstream 0.163 lists the flag as deprecated but sends no warning for it at connect; ours tells
        # the user once, through configWarning, as the issue asks.
        client.assert_no("configWarning", where=lambda params: "web_search_request" in params["summary"])
    else:
        warning = client.wait_for("configWarning", where=lambda params: "web_search_request" in params["summary"])
        assert "deprecated" in warning["summary"]
        assert warning["path"] == str(client.codex_home / "config.toml")


def test_smart_approvals_is_not_a_known_flag_and_sets_no_reviewer(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml="[features]\nsmart_approvals = true\n")
    warning = client.wait_for("configWarning", where=lambda params: "unrecognized" in params["summary"])
    assert "`features.smart_approvals` is ignored." in warning["summary"]
    assert "smart_approvals" not in by_name(client)
    assert client.request("config/read", {})["config"]["approvals_reviewer"] is None


def test_enablement_set_applies_only_runtime_settable_flags(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml="[features]\nshell_tool = false\n")
    result = client.request(
        "experimentalFeature/enablement/set",
        {"enablement": {"memories": True, "network_proxy": True, "plugins": False, "no_such_flag": True}},
    )
    assert result == {"enablement": {"memories": True}}
    features = by_name(client)
    assert (features["memories"]["enabled"], features["network_proxy"]["enabled"], features["plugins"]["enabled"]) == (
        True,
        False,
        True,
    )
    assert client.request("config/read", {})["config"]["features"]["memories"] is True
    assert client.request("experimentalFeature/enablement/set", {"enablement": {}}) == {"enablement": {}}


def test_config_outranks_runtime_enablement(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml="[features]\nmemories = true\n")
    assert client.request("experimentalFeature/enablement/set", {"enablement": {"memories": False}}) == {
        "enablement": {"memories": False}
    }
    assert by_name(client)["memories"]["enabled"] is True


def test_legacy_flag_names_move_the_current_flag(app_server_factory: AppServerFactory) -> None:
    client = app_server_factory(config_toml="[features]\nmemory_tool = true\nconnectors = false\nnot_a_flag = true\n")
    features = by_name(client)
    assert (features["memories"]["enabled"], features["apps"]["enabled"]) == (True, False)
    assert "memory_tool" not in features
    warning = client.wait_for("configWarning", where=lambda params: "unrecognized" in params["summary"])
    assert "`features.not_a_flag` is ignored." in warning["summary"]
    assert "memory_tool" not in warning["summary"]
    assert "connectors" not in warning["summary"]
