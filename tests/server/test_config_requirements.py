"""requirements.toml as configRequirements/read reports it (shapes measured on upstream 0.163 with the file
mounted at /etc/codex/requirements.toml in a private mount namespace)."""

from __future__ import annotations

from pathlib import Path

from server.config import requirements


def test_a_missing_file_is_no_requirements(tmp_path: Path) -> None:
    assert requirements.read(tmp_path / "requirements.toml") is None


def test_a_file_without_known_keys_is_no_requirements(tmp_path: Path) -> None:
    path = tmp_path / "requirements.toml"
    path.write_text("bogus_key = 1\n")
    assert requirements.read(path) is None
    path.write_text("")
    assert requirements.read(path) is None


def test_a_file_that_is_not_toml_is_no_requirements(tmp_path: Path) -> None:
    path = tmp_path / "requirements.toml"
    path.write_text("allowed = [\n")
    assert requirements.read(path) is None


def test_known_keys_are_reported_with_every_other_field_null(tmp_path: Path) -> None:
    path = tmp_path / "requirements.toml"
    path.write_text(
        'allowed_approval_policies = ["never", "on-request"]\n'
        'allowed_sandbox_modes = ["read-only"]\n'
        'allowed_web_search_modes = ["cached"]\n'
        'enforce_residency = "us"\n'
        "allow_managed_hooks_only = true\n"
        "[features]\nplugins = false\n"
        '[rules]\nprefix_rules = [{ pattern = [{ token = "rm" }], decision = "forbidden" }]\n'
    )
    reported = requirements.read(path)
    assert reported is not None
    assert list(reported) == list(requirements.WIRE_FIELDS)
    assert {key: value for key, value in reported.items() if value is not None} == {
        "allowedLoginMethods": ["api", "chatgpt"],
        "allowedApprovalPolicies": ["never", "on-request"],
        "allowedSandboxModes": ["read-only"],
        "allowedWebSearchModes": ["cached", "disabled"],
        "allowManagedHooksOnly": True,
        "featureRequirements": {"plugins": False},
        "enforceResidency": "us",
    }


def test_login_methods_are_kept_and_disabled_search_is_always_allowed() -> None:
    reported = requirements.report({"allowed_login_methods": ["chatgpt"], "allowed_web_search_modes": []})
    assert reported is not None
    assert reported["allowedLoginMethods"] == ["chatgpt"]
    assert reported["allowedWebSearchModes"] == ["disabled"]
