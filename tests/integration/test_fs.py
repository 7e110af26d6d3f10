"""fs/* file and directory methods, as upstream 0.163 answers them (protocol notes, section 2)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_app_harness import Client, RpcResponseError

NOT_FOUND = (-32603, "No such file or directory (os error 2)")
EXISTS = (-32603, "File exists (os error 17)")
IS_DIRECTORY = (-32603, "Is a directory (os error 21)")
NOT_DIRECTORY = (-32603, "Not a directory (os error 20)")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def error_of(client: Client, method: str, params: dict[str, Any]) -> tuple[int, str]:
    with pytest.raises(RpcResponseError) as excinfo:
        client.request(method, params)
    return excinfo.value.code, excinfo.value.message


def read(client: Client, path: Path) -> bytes:
    return base64.b64decode(client.request("fs/readFile", {"path": str(path)})["dataBase64"], validate=True)


# ------------------------------------------------------------------------------------------------ paths

PATH_METHODS = [
    ("fs/readFile", {}),
    ("fs/writeFile", {"dataBase64": ""}),
    ("fs/createDirectory", {}),
    ("fs/getMetadata", {}),
    ("fs/readDirectory", {}),
    ("fs/remove", {}),
    ("fs/watch", {"watchId": "w"}),
]


@pytest.mark.parametrize(("method", "extra"), PATH_METHODS)
@pytest.mark.parametrize("path", ["relative/a.txt", "", "~/a.txt", "."])
def test_paths_must_be_absolute(app_server: Client, method: str, extra: dict[str, Any], path: str) -> None:
    assert error_of(app_server, method, {"path": path, **extra}) == (
        -32600,
        "Invalid request: AbsolutePathBuf deserialized without a base path",
    )


@pytest.mark.parametrize(("method", "extra"), PATH_METHODS)
def test_paths_with_a_nul_byte_are_rejected(
    app_server: Client, app_server_kind: str, method: str, extra: dict[str, Any]
) -> None:
    params = {"path": "/tmp/a\x00b", **extra}
    if method == "fs/watch" and app_server_kind == "codex":
        # Upstream finds the NUL only when a system call converts the path, and fs/watch makes none before
        # answering: it accepts a watch that can never fire. Ours refuses it like every other method.
        assert app_server.request(method, params) == {"path": "/tmp/a\x00b"}
        return
    assert error_of(app_server, method, params) == (-32600, "file name contained an unexpected NUL byte")


def test_copy_checks_both_paths(app_server: Client, tmp_path: Path) -> None:
    message = "Invalid request: AbsolutePathBuf deserialized without a base path"
    assert error_of(app_server, "fs/copy", {"sourcePath": "rel", "destinationPath": str(tmp_path)}) == (-32600, message)
    assert error_of(app_server, "fs/copy", {"sourcePath": str(tmp_path), "destinationPath": "rel"}) == (-32600, message)


def test_path_of_the_wrong_type_is_rejected(app_server: Client) -> None:
    assert error_of(app_server, "fs/readFile", {"path": 123}) == (
        -32600,
        "Invalid request: invalid type: integer `123`, expected path string",
    )


def test_paths_are_normalized_lexically(app_server: Client, tmp_path: Path) -> None:
    """`missing/..` names the directory itself even though `missing` does not exist; a trailing slash on a
    file path is dropped, as upstream's AbsolutePathBuf does before any system call."""
    app_server.request("fs/writeFile", {"path": f"{tmp_path}/missing/../a.txt", "dataBase64": b64(b"hi")})
    assert (tmp_path / "a.txt").read_bytes() == b"hi"
    assert read(app_server, Path(f"{tmp_path}//a.txt/")) == b"hi"


# --------------------------------------------------------------------------------- readFile / writeFile


def test_write_then_read_round_trips_every_byte_value(app_server: Client, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4
    assert app_server.request("fs/writeFile", {"path": str(tmp_path / "f.bin"), "dataBase64": b64(data)}) == {}
    assert (tmp_path / "f.bin").read_bytes() == data
    assert read(app_server, tmp_path / "f.bin") == data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_round_trip_of_arbitrary_bytes(app_server: Client, tmp_path: Path, data: bytes) -> None:
    target = tmp_path / "property.bin"
    app_server.request("fs/writeFile", {"path": str(target), "dataBase64": b64(data)})
    result = app_server.request("fs/readFile", {"path": str(target)})
    assert result == {"dataBase64": b64(data)}


def test_empty_content_writes_an_empty_file_and_reads_as_empty_string(app_server: Client, tmp_path: Path) -> None:
    app_server.request("fs/writeFile", {"path": str(tmp_path / "empty"), "dataBase64": ""})
    assert (tmp_path / "empty").read_bytes() == b""
    assert app_server.request("fs/readFile", {"path": str(tmp_path / "empty")}) == {"dataBase64": ""}


def test_overwrite_replaces_longer_content(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"a much longer original content")
    app_server.request("fs/writeFile", {"path": str(target), "dataBase64": b64(b"short")})
    assert target.read_bytes() == b"short"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("!!!notb64", "Invalid symbol 33, offset 0."),
        ("aGk", "Invalid padding"),
        ("-_8=", "Invalid symbol 45, offset 0."),
        ("aGVs\nbA==", "Invalid symbol 10, offset 4."),
        ("aGk=aGk=", "Invalid symbol 61, offset 3."),
        ("aGj=", "Invalid last symbol 106, offset 2."),
        ("a", "Invalid input length: 1"),
        ("aGVsa", "Invalid input length: 5"),
        ("é", "Invalid symbol 195, offset 0."),
    ],
)
def test_invalid_base64_is_rejected_and_nothing_is_written(
    app_server: Client, tmp_path: Path, payload: str, reason: str
) -> None:
    existing, fresh = tmp_path / "existing.txt", tmp_path / "fresh.txt"
    existing.write_bytes(b"keep me")
    for target in (existing, fresh):
        assert error_of(app_server, "fs/writeFile", {"path": str(target), "dataBase64": payload}) == (
            -32600,
            f"fs/writeFile requires valid base64 dataBase64: {reason}",
        )
    assert existing.read_bytes() == b"keep me"
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.txt"]


def test_write_does_not_create_missing_parents(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "f.txt"
    assert error_of(app_server, "fs/writeFile", {"path": str(target), "dataBase64": b64(b"x")}) == NOT_FOUND
    assert not (tmp_path / "no").exists()


def test_write_onto_a_directory_fails_with_the_os_error(app_server: Client, tmp_path: Path) -> None:
    assert error_of(app_server, "fs/writeFile", {"path": str(tmp_path), "dataBase64": b64(b"x")}) == IS_DIRECTORY


def test_write_keeps_the_existing_files_mode(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    target.write_bytes(b"old")
    target.chmod(0o751)
    app_server.request("fs/writeFile", {"path": str(target), "dataBase64": b64(b"new")})
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert target.read_bytes() == b"new"


def test_write_through_a_symlink_updates_the_target_and_keeps_the_link(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_bytes(b"old")
    (tmp_path / "link").symlink_to(tmp_path / "real.txt")
    app_server.request("fs/writeFile", {"path": str(tmp_path / "link"), "dataBase64": b64(b"new")})
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "real.txt").read_bytes() == b"new"


def test_write_leaves_no_temporary_files_behind(app_server: Client, tmp_path: Path) -> None:
    for round_ in range(3):
        app_server.request("fs/writeFile", {"path": str(tmp_path / "f"), "dataBase64": b64(bytes([round_]) * 10)})
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_read_of_a_missing_file_is_the_os_error(app_server: Client, tmp_path: Path) -> None:
    assert error_of(app_server, "fs/readFile", {"path": str(tmp_path / "missing")}) == NOT_FOUND


def test_read_of_a_directory_is_not_a_file(app_server: Client, tmp_path: Path) -> None:
    assert error_of(app_server, "fs/readFile", {"path": str(tmp_path)}) == (-32600, f"path `{tmp_path}` is not a file")


def test_read_of_a_fifo_is_refused_without_blocking(app_server: Client, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert error_of(app_server, "fs/readFile", {"path": str(fifo)}) == (-32600, f"path `{fifo}` is not a file")


def test_read_follows_symlinks(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_bytes(b"through the link")
    (tmp_path / "link").symlink_to(tmp_path / "real.txt")
    assert read(app_server, tmp_path / "link") == b"through the link"


# ------------------------------------------------------------------------------------- createDirectory


def test_create_directory_creates_parents_by_default(app_server: Client, tmp_path: Path) -> None:
    assert app_server.request("fs/createDirectory", {"path": str(tmp_path / "a" / "b" / "c")}) == {}
    assert (tmp_path / "a" / "b" / "c").is_dir()


def test_create_directory_is_idempotent_by_default(app_server: Client, tmp_path: Path) -> None:
    assert app_server.request("fs/createDirectory", {"path": str(tmp_path), "recursive": None}) == {}


def test_non_recursive_create_needs_the_parent(app_server: Client, tmp_path: Path) -> None:
    params = {"path": str(tmp_path / "a" / "b"), "recursive": False}
    assert error_of(app_server, "fs/createDirectory", params) == NOT_FOUND
    assert app_server.request("fs/createDirectory", {"path": str(tmp_path / "a"), "recursive": False}) == {}
    assert error_of(app_server, "fs/createDirectory", {"path": str(tmp_path / "a"), "recursive": False}) == EXISTS


@pytest.mark.parametrize("recursive", [True, False])
def test_create_directory_over_a_file_fails(app_server: Client, tmp_path: Path, recursive: bool) -> None:
    (tmp_path / "f").write_bytes(b"")
    params = {"path": str(tmp_path / "f"), "recursive": recursive}
    assert error_of(app_server, "fs/createDirectory", params) == EXISTS


# ----------------------------------------------------------------------------------------- getMetadata


def test_metadata_of_a_file(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"x")
    result = app_server.request("fs/getMetadata", {"path": str(target)})
    assert result == {
        "isDirectory": False,
        "isFile": True,
        "isSymlink": False,
        "createdAtMs": 0,
        "modifiedAtMs": target.stat().st_mtime_ns // 1_000_000,
    }


def test_metadata_follows_symlinks_but_reports_them(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_bytes(b"")
    (tmp_path / "to_dir").symlink_to(tmp_path / "d")
    (tmp_path / "to_file").symlink_to(tmp_path / "f")
    to_dir = app_server.request("fs/getMetadata", {"path": str(tmp_path / "to_dir")})
    to_file = app_server.request("fs/getMetadata", {"path": str(tmp_path / "to_file")})
    assert (to_dir["isDirectory"], to_dir["isFile"], to_dir["isSymlink"]) == (True, False, True)
    assert (to_file["isDirectory"], to_file["isFile"], to_file["isSymlink"]) == (False, True, True)


def test_metadata_of_a_broken_symlink_is_not_found(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    assert error_of(app_server, "fs/getMetadata", {"path": str(tmp_path / "broken")}) == NOT_FOUND


def test_metadata_of_a_fifo_is_neither_file_nor_directory(app_server: Client, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    result = app_server.request("fs/getMetadata", {"path": str(tmp_path / "fifo")})
    assert (result["isDirectory"], result["isFile"], result["isSymlink"]) == (False, False, False)


# ---------------------------------------------------------------------------------------- readDirectory


def test_read_directory_lists_direct_children_resolving_symlinks(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_bytes(b"")
    (tmp_path / "f.txt").write_bytes(b"")
    (tmp_path / "to_sub").symlink_to(tmp_path / "sub")
    (tmp_path / "to_f").symlink_to(tmp_path / "f.txt")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "fifo")
    entries = app_server.request("fs/readDirectory", {"path": str(tmp_path)})["entries"]
    by_name = {entry["fileName"]: (entry["isDirectory"], entry["isFile"]) for entry in entries}
    assert by_name == {
        "sub": (True, False),
        "f.txt": (False, True),
        "to_sub": (True, False),
        "to_f": (False, True),
        "fifo": (False, False),
    }
    assert len(entries) == len(by_name)


def test_read_directory_of_an_empty_directory(app_server: Client, tmp_path: Path) -> None:
    assert app_server.request("fs/readDirectory", {"path": str(tmp_path)}) == {"entries": []}


def test_read_directory_errors_are_os_errors(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    assert error_of(app_server, "fs/readDirectory", {"path": str(tmp_path / "missing")}) == NOT_FOUND
    assert error_of(app_server, "fs/readDirectory", {"path": str(tmp_path / "f")}) == NOT_DIRECTORY


# ----------------------------------------------------------------------------------------------- remove


def test_remove_of_a_missing_path_is_fine_by_default(app_server: Client, tmp_path: Path) -> None:
    assert app_server.request("fs/remove", {"path": str(tmp_path / "missing")}) == {}
    assert error_of(app_server, "fs/remove", {"path": str(tmp_path / "missing"), "force": False}) == NOT_FOUND


def test_force_forgives_only_a_missing_path(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    assert error_of(app_server, "fs/remove", {"path": str(tmp_path / "f" / "x"), "force": True}) == NOT_DIRECTORY


def test_remove_is_recursive_by_default(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_bytes(b"")
    assert app_server.request("fs/remove", {"path": str(tmp_path / "d")}) == {}
    assert not (tmp_path / "d").exists()


def test_non_recursive_remove_refuses_a_non_empty_directory(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    params = {"path": str(tmp_path / "d"), "recursive": False}
    assert error_of(app_server, "fs/remove", params) == (-32603, "Directory not empty (os error 39)")
    assert app_server.request("fs/remove", {"path": str(tmp_path / "empty"), "recursive": False}) == {}
    assert not (tmp_path / "empty").exists()


def test_remove_of_a_symlink_removes_only_the_link(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep").write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "d")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    app_server.request("fs/remove", {"path": str(tmp_path / "link")})
    app_server.request("fs/remove", {"path": str(tmp_path / "broken"), "force": False})
    assert not (tmp_path / "link").is_symlink()
    assert not (tmp_path / "broken").is_symlink()
    assert (tmp_path / "d" / "keep").exists()


# ------------------------------------------------------------------------------------------------- copy


def test_copy_of_a_file_copies_content_and_mode(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"content")
    (tmp_path / "src").chmod(0o751)
    (tmp_path / "existing").write_bytes(b"to be overwritten, longer")
    for name in ("dst", "existing"):
        params = {"sourcePath": str(tmp_path / "src"), "destinationPath": str(tmp_path / name)}
        assert app_server.request("fs/copy", params) == {}
        assert (tmp_path / name).read_bytes() == b"content"
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o751


def test_copy_file_errors_are_os_errors(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    onto_dir = {"sourcePath": str(tmp_path / "src"), "destinationPath": str(tmp_path / "dir")}
    no_parent = {"sourcePath": str(tmp_path / "src"), "destinationPath": str(tmp_path / "no" / "dst")}
    no_source = {"sourcePath": str(tmp_path / "missing"), "destinationPath": str(tmp_path / "dst")}
    assert error_of(app_server, "fs/copy", onto_dir) == IS_DIRECTORY
    assert error_of(app_server, "fs/copy", no_parent) == NOT_FOUND
    assert error_of(app_server, "fs/copy", no_source) == NOT_FOUND


@pytest.mark.parametrize("recursive", [None, False])
def test_copy_of_a_directory_requires_recursive(app_server: Client, tmp_path: Path, recursive: bool | None) -> None:
    (tmp_path / "d").mkdir()
    params: dict[str, Any] = {"sourcePath": str(tmp_path / "d"), "destinationPath": str(tmp_path / "e")}
    if recursive is not None:
        params["recursive"] = recursive
    assert error_of(app_server, "fs/copy", params) == (
        -32600,
        "fs/copy requires recursive: true when sourcePath is a directory",
    )
    assert not (tmp_path / "e").exists()


def test_copy_recursive_must_be_a_boolean_not_null(app_server: Client, tmp_path: Path) -> None:
    params = {"sourcePath": str(tmp_path), "destinationPath": str(tmp_path / "x"), "recursive": None}
    code, message = error_of(app_server, "fs/copy", params)
    assert code == -32600
    assert message.startswith("Invalid request: invalid type: null, expected a boolean")


def test_recursive_copy_merges_into_an_existing_directory(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "a").write_bytes(b"a")
    (tmp_path / "src" / "link").symlink_to("sub/a")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "kept").write_bytes(b"kept")
    params = {"sourcePath": str(tmp_path / "src"), "destinationPath": str(tmp_path / "dst"), "recursive": True}
    assert app_server.request("fs/copy", params) == {}
    assert (tmp_path / "dst" / "sub" / "a").read_bytes() == b"a"
    assert (tmp_path / "dst" / "kept").read_bytes() == b"kept"
    assert os.readlink(tmp_path / "dst" / "link") == "sub/a"


def test_recursive_copy_skips_special_files(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(b"f")
    os.mkfifo(tmp_path / "src" / "fifo")
    params = {"sourcePath": str(tmp_path / "src"), "destinationPath": str(tmp_path / "dst"), "recursive": True}
    app_server.request("fs/copy", params)
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["f"]


def test_copy_of_a_special_file_is_refused(app_server: Client, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    params = {"sourcePath": str(tmp_path / "fifo"), "destinationPath": str(tmp_path / "copy")}
    assert error_of(app_server, "fs/copy", params) == (
        -32600,
        "fs/copy only supports regular files, directories, and symlinks",
    )


@pytest.mark.parametrize("destination", [".", "sub", "sub/new/deeper", "link_to_src/x"])
def test_copy_of_a_directory_into_itself_is_refused(app_server: Client, tmp_path: Path, destination: str) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "link_to_src").symlink_to(tmp_path / "src")
    target = tmp_path / "link_to_src/x" if destination.startswith("link") else tmp_path / "src" / destination
    params = {"sourcePath": str(tmp_path / "src"), "destinationPath": str(target), "recursive": True}
    assert error_of(app_server, "fs/copy", params) == (
        -32600,
        "fs/copy cannot copy a directory to itself or one of its descendants",
    )


def test_copy_of_a_symlink_creates_a_symlink(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"t")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    (tmp_path / "taken").write_bytes(b"")
    params = {"sourcePath": str(tmp_path / "link"), "destinationPath": str(tmp_path / "copy")}
    assert app_server.request("fs/copy", params) == {}
    assert os.readlink(tmp_path / "copy") == str(tmp_path / "target")
    onto_file = {"sourcePath": str(tmp_path / "link"), "destinationPath": str(tmp_path / "taken")}
    assert error_of(app_server, "fs/copy", onto_file) == EXISTS


def test_copy_of_a_file_onto_itself(app_server: Client, app_server_kind: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"precious")
    assert (
        app_server.request("fs/copy", {"sourcePath": str(tmp_path / "f"), "destinationPath": str(tmp_path / "f")}) == {}
    )
    if app_server_kind == "codex":
        # Upstream opens the destination for writing (truncating it) before reading the source, so copying
        # a file onto itself silently empties it. Ours treats it as the no-op it should be.
        assert (tmp_path / "f").read_bytes() == b""
    else:
        assert (tmp_path / "f").read_bytes() == b"precious"
