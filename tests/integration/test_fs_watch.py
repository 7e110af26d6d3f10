"""fs/watch, fs/unwatch and fs/changed (protocol notes, section 3).

Every wait names the watch id and a path it must report, never "the next notification"; where upstream
loses a watch (atomic replace, symlinked sibling) the test says so and checks upstream's behaviour.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codex_app_harness import Client, RpcResponseError
from codex_app_harness.pytest_plugin import AppServerFactory
from codex_app_harness.websocket_server import WebSocketServer

QUIET_SECONDS = 0.8
"""How long "nothing arrives" is watched for; four times upstream's ~200 ms debounce."""

RE_ARM_SECONDS = 0.5
"""Pause between creating a watched file's directories and the file, for upstream to follow them down."""


def reporting(*paths: Path) -> Callable[[dict[str, Any]], bool]:
    """Matches an fs/changed whose changedPaths include every one of `paths`."""
    wanted = {str(path) for path in paths}
    return lambda params: wanted <= set(params["changedPaths"])


def mentioning(path: Path) -> Callable[[dict[str, Any]], bool]:
    return lambda params: str(path) in params["changedPaths"]


def collect(client: Client, watch_id: str, paths: set[Path]) -> int:
    """Wait until `watch_id` has reported every one of `paths`, in however many notifications; their count."""
    remaining = {str(path) for path in paths}

    def reports_a_remaining_path(params: dict[str, Any]) -> bool:
        return bool(remaining & set(params["changedPaths"]))

    notifications = 0
    while remaining and notifications < len(paths):
        params = client.wait_for("fs/changed", watchId=watch_id, where=reports_a_remaining_path)
        remaining.difference_update(params["changedPaths"])
        notifications += 1
    assert not remaining, f"{watch_id} never reported {sorted(remaining)}"
    return notifications


def watch(client: Client, path: Path | str, watch_id: str) -> dict[str, Any]:
    result: dict[str, Any] = client.request("fs/watch", {"path": str(path), "watchId": watch_id})
    return result


def replace_atomically(target: Path, content: bytes) -> None:
    """What editors and git do: write a sibling temporary file, then rename it over the target."""
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def inotify_watches(pid: int) -> int:
    """inotify watch descriptors the process holds, from /proc (one `inotify wd:` line each)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            count += Path(f"/proc/{pid}/fdinfo/{fd}").read_text().count("inotify wd:")
        except OSError:
            continue
    return count


def notify_threads(pid: int) -> int:
    """Threads of Rust notify's inotify reader (named `notify-rs inotify loop`, truncated by the kernel)."""
    count = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            count += Path(f"/proc/{pid}/task/{task}/comm").read_text().startswith("notify-rs")
        except OSError:
            continue
    return count


def settles_to(probe: Callable[[], int], expected: int, *, attempts: int = 100) -> bool:
    """Whether `probe()` reaches `expected` within a bounded number of short waits: notify's reader thread
    and its inotify descriptor go away asynchronously, just after the watcher is closed."""
    for _ in range(attempts):
        if probe() == expected:
            return True
        time.sleep(0.05)
    return probe() == expected


def pid_of(client: Client) -> int:
    assert client.process is not None
    return client.process.pid


# ------------------------------------------------------------------------------------ request shapes


def test_watch_returns_the_path_normalized_lexically_with_symlinks_kept(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    assert watch(app_server, f"{tmp_path}/dir/../dir/", "a") == {"path": str(tmp_path / "dir")}
    assert watch(app_server, tmp_path / "link", "b") == {"path": str(tmp_path / "link")}


def test_watch_of_a_missing_target_is_accepted(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "file.txt"
    assert watch(app_server, target, "missing") == {"path": str(target)}


def test_duplicate_watch_id_is_rejected(app_server: Client, tmp_path: Path) -> None:
    watch(app_server, tmp_path, "w-dir")
    with pytest.raises(RpcResponseError) as excinfo:
        watch(app_server, tmp_path / "other", "w-dir")
    assert (excinfo.value.code, excinfo.value.message) == (-32600, "watchId already exists: w-dir")


def test_watch_id_may_be_empty_and_reused_after_unwatch(app_server: Client, tmp_path: Path) -> None:
    watch(app_server, tmp_path, "")
    assert app_server.request("fs/unwatch", {"watchId": ""}) == {}
    watch(app_server, tmp_path, "")
    (tmp_path / "after-reuse").write_bytes(b"")
    app_server.wait_for("fs/changed", watchId="", where=mentioning(tmp_path / "after-reuse"))


def test_watch_requires_a_watch_id(app_server: Client, tmp_path: Path) -> None:
    with pytest.raises(RpcResponseError) as excinfo:
        app_server.request("fs/watch", {"path": str(tmp_path)})
    assert (excinfo.value.code, excinfo.value.message) == (-32600, "Invalid request: missing field `watchId`")


def test_unwatch_of_an_unknown_id_is_fine(app_server: Client) -> None:
    assert app_server.request("fs/unwatch", {"watchId": "never-watched"}) == {}
    assert app_server.request("fs/unwatch", {"watchId": "never-watched"}) == {}


# -------------------------------------------------------------------------------------- watched file


def test_modifying_a_watched_file_reports_it(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"1")
    watch(app_server, target, "file")
    with target.open("ab") as handle:
        handle.write(b"2")
    assert app_server.wait_for("fs/changed", watchId="file") == {"watchId": "file", "changedPaths": [str(target)]}


def test_a_watched_file_reports_only_itself(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"1")
    watch(app_server, target, "file")
    (tmp_path / "sibling.txt").write_bytes(b"")
    target.write_bytes(b"2")
    app_server.wait_for("fs/changed", watchId="file", where=mentioning(target))
    app_server.assert_no("fs/changed", within=QUIET_SECONDS, watchId="file", where=mentioning(tmp_path / "sibling.txt"))


def test_deleting_and_recreating_a_watched_file_reports_both(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"1")
    watch(app_server, target, "file")
    target.unlink()
    app_server.wait_for("fs/changed", watchId="file", where=mentioning(target))
    target.write_bytes(b"again")
    app_server.wait_for("fs/changed", watchId="file", where=mentioning(target))


def test_atomic_replace_keeps_the_watch_alive(app_server: Client, app_server_kind: str, tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    target.write_bytes(b"0")
    watch(app_server, target, "file")
    replace_atomically(target, b"1")
    app_server.wait_for("fs/changed", watchId="file", where=mentioning(target))
    replace_atomically(target, b"2")
    if app_server_kind == "codex":
        # Upstream watches the file's inode; the rename swaps in a new inode and the watch goes silent for
        # good after the first replace (later replaces, writes and deletes are never reported).
        app_server.assert_no("fs/changed", within=QUIET_SECONDS, watchId="file")
        return
    app_server.wait_for("fs/changed", watchId="file", where=mentioning(target))
    target.write_bytes(b"3")
    app_server.wait_for("fs/changed", watchId="file", where=mentioning(target))


def test_a_missing_file_is_reported_when_created(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "later.txt"
    watch(app_server, target, "later")
    (tmp_path / "unrelated.txt").write_bytes(b"")
    target.write_bytes(b"now")
    app_server.wait_for("fs/changed", watchId="later", where=mentioning(target))
    app_server.assert_no(
        "fs/changed", within=QUIET_SECONDS, watchId="later", where=mentioning(tmp_path / "unrelated.txt")
    )


def test_a_missing_file_under_missing_directories_is_reported_when_created(app_server: Client, tmp_path: Path) -> None:
    target = tmp_path / "nodir" / "deeper" / "later.txt"
    watch(app_server, target, "deep")
    # Spacing, not an assertion: a client creates the directories one by one, later the file. Upstream
    # follows a missing target down one created directory at a time, asynchronously; given two levels in
    # one mkdir it was seen (1 run in 3) to stay on the upper one and never report the file. Directories
    # created in the same instant as the file are the next test's business.
    for directory in (target.parent.parent, target.parent):
        directory.mkdir()
        time.sleep(RE_ARM_SECONDS)
    target.write_bytes(b"now")
    app_server.wait_for("fs/changed", watchId="deep", where=mentioning(target))
    with target.open("ab") as handle:
        handle.write(b" and later")
    app_server.wait_for("fs/changed", watchId="deep", where=mentioning(target))


def test_a_file_created_with_its_directories_in_one_go_is_reported(
    app_server: Client, app_server_kind: str, tmp_path: Path
) -> None:
    target = tmp_path / "nodir" / "deeper" / "later.txt"
    watch(app_server, target, "deep")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"now")
    if app_server_kind == "codex":
        # Upstream moves its watch down the newly created directories asynchronously and does not look
        # again afterwards: it usually reports the file, but on a loaded machine it was seen to miss a file
        # created right behind its directories, so nothing about upstream is asserted here. Ours checks
        # whether the target exists once its watch has moved, and reports it if so.
        return
    app_server.wait_for("fs/changed", watchId="deep", where=mentioning(target))


# --------------------------------------------------------------------------------- watched directory


def test_direct_children_created_modified_and_removed_are_reported(app_server: Client, tmp_path: Path) -> None:
    existing = tmp_path / "existing.txt"
    existing.write_bytes(b"")
    watch(app_server, tmp_path, "dir")
    (tmp_path / "created.txt").write_bytes(b"")
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(tmp_path / "created.txt"))
    existing.write_bytes(b"modified")
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(existing))
    (tmp_path / "created.txt").unlink()
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(tmp_path / "created.txt"))
    (tmp_path / "subdir").mkdir()
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(tmp_path / "subdir"))


def test_rename_within_a_watched_directory_reports_both_names(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_bytes(b"")
    watch(app_server, tmp_path, "dir")
    (tmp_path / "old.txt").rename(tmp_path / "new.txt")
    collect(app_server, "dir", {tmp_path / "old.txt", tmp_path / "new.txt"})


def test_directory_watches_are_not_recursive(app_server: Client, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    watch(app_server, tmp_path, "dir")
    (tmp_path / "sub" / "deep.txt").write_bytes(b"")
    (tmp_path / "top.txt").write_bytes(b"")
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(tmp_path / "top.txt"))
    app_server.assert_no(
        "fs/changed", within=QUIET_SECONDS, watchId="dir", where=mentioning(tmp_path / "sub" / "deep.txt")
    )


def test_removing_and_recreating_a_watched_directory_is_reported(app_server: Client, tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    watch(app_server, directory, "dir")
    directory.rmdir()
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(directory))
    directory.mkdir()
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(directory))


def test_a_burst_is_coalesced_and_every_path_reported(app_server: Client, tmp_path: Path) -> None:
    watch(app_server, tmp_path, "dir")
    created = {tmp_path / f"burst-{index:02}" for index in range(50)}
    for path in sorted(created):
        path.write_bytes(b"")
    assert collect(app_server, "dir", created) < len(created)


def test_same_path_under_two_ids_notifies_each(app_server: Client, tmp_path: Path) -> None:
    watch(app_server, tmp_path, "one")
    watch(app_server, tmp_path, "two")
    (tmp_path / "x").write_bytes(b"")
    for watch_id in ("one", "two"):
        app_server.wait_for("fs/changed", watchId=watch_id, where=mentioning(tmp_path / "x"))


def test_a_watch_through_a_symlinked_directory_leaves_its_sibling_working(
    app_server: Client, app_server_kind: str, tmp_path: Path
) -> None:
    directory, link = tmp_path / "d", tmp_path / "dl"
    directory.mkdir()
    link.symlink_to(directory)
    watch(app_server, directory, "real")
    watch(app_server, link, "via-link")
    (directory / "x1").write_bytes(b"")
    app_server.wait_for("fs/changed", watchId="via-link", where=mentioning(link / "x1"))
    if app_server_kind == "codex":
        # Upstream holds one inotify descriptor per inode and remembers one path for it: the second watch
        # takes the directory over, and after it is removed the first one never fires again.
        app_server.assert_no("fs/changed", within=QUIET_SECONDS, watchId="real", where=mentioning(directory / "x1"))
        app_server.request("fs/unwatch", {"watchId": "via-link"})
        (directory / "x2").write_bytes(b"")
        app_server.assert_no("fs/changed", within=QUIET_SECONDS, watchId="real", where=mentioning(directory / "x2"))
        return
    app_server.wait_for("fs/changed", watchId="real", where=mentioning(directory / "x1"))
    app_server.request("fs/unwatch", {"watchId": "via-link"})
    (directory / "x2").write_bytes(b"")
    app_server.wait_for("fs/changed", watchId="real", where=mentioning(directory / "x2"))


# ------------------------------------------------------------------------------ lifetime and cleanup


def test_unwatch_stops_delivery(app_server: Client, tmp_path: Path) -> None:
    watch(app_server, tmp_path, "dir")
    (tmp_path / "before").write_bytes(b"")
    app_server.wait_for("fs/changed", watchId="dir", where=mentioning(tmp_path / "before"))
    assert app_server.request("fs/unwatch", {"watchId": "dir"}) == {}
    (tmp_path / "after").write_bytes(b"")
    app_server.assert_no("fs/changed", within=QUIET_SECONDS, watchId="dir", where=mentioning(tmp_path / "after"))


def test_watch_ids_belong_to_the_connection(app_server_factory: AppServerFactory, tmp_path: Path) -> None:
    first, second = app_server_factory(), app_server_factory()
    watch(first, tmp_path, "same-id")
    watch(second, tmp_path, "same-id")
    (tmp_path / "x").write_bytes(b"")
    for client in (first, second):
        client.wait_for("fs/changed", watchId="same-id", where=mentioning(tmp_path / "x"))


def test_unwatching_everything_releases_the_os_watches(
    app_server: Client, app_server_kind: str, tmp_path: Path
) -> None:
    pid = pid_of(app_server)
    targets = [tmp_path / f"d{index}" for index in range(8)]
    for index, target in enumerate(targets):
        target.mkdir()
        watch(app_server, target, f"w{index}")
        watch(app_server, target / "file.txt", f"f{index}")
    assert inotify_watches(pid) > 0
    for index in range(len(targets)):
        app_server.request("fs/unwatch", {"watchId": f"w{index}"})
        app_server.request("fs/unwatch", {"watchId": f"f{index}"})
    assert settles_to(lambda: inotify_watches(pid), 0)
    if app_server_kind == "codex":
        # Upstream keeps its process-wide notify watchers (and their reader threads) for its lifetime.
        return
    assert settles_to(lambda: notify_threads(pid), 0)


def test_disconnecting_with_active_watches_exits_cleanly(app_server: Client, tmp_path: Path) -> None:
    for index in range(5):
        watch(app_server, tmp_path, f"w{index}")
        watch(app_server, tmp_path / f"missing{index}" / "f", f"m{index}")
    (tmp_path / "pending-change").write_bytes(b"")
    app_server.close_stdin()
    assert app_server.wait_exit() == 0


def test_a_disconnect_releases_that_connections_watches_only(
    ws_server_factory: Callable[..., WebSocketServer], tmp_path: Path
) -> None:
    """Over websocket one process serves several connections, so a disconnect can be observed from outside:
    the leaving connection's inotify watches go away while the other connection's watch keeps working."""
    server = ws_server_factory()
    pid = server.process.pid
    staying, leaving = server.connect(), server.connect()
    (tmp_path / "kept").mkdir()
    watch(staying, tmp_path / "kept", "kept")
    baseline = inotify_watches(pid)
    for index in range(6):
        (tmp_path / f"gone{index}").mkdir()
        watch(leaving, tmp_path / f"gone{index}", f"gone{index}")
    assert inotify_watches(pid) > baseline
    leaving.close()
    assert settles_to(lambda: inotify_watches(pid), baseline)
    (tmp_path / "kept" / "after-disconnect").write_bytes(b"")
    staying.wait_for("fs/changed", watchId="kept", where=mentioning(tmp_path / "kept" / "after-disconnect"))
