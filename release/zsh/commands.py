"""`python -m release zsh build|smoke|package|all|check`: the release pipeline's command line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

from release import targets
from release.errors import ReleaseError
from release.targets import Target
from release.toolchains import for_target
from release.zsh import build, check, fetch, package, pins, smoke
from release.zsh.build import TargetDirs, WorkDir
from release.zsh.progress import Progress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    zsh = subparsers.add_parser(
        "zsh",
        help="build, smoke-test and package the patched zsh",
        description="Build the EXEC_WRAPPER zsh fork for one target, smoke-test it and package it.",
    )
    steps = zsh.add_subparsers(dest="step", required=True, metavar="STEP")
    build_opts, smoke_opts, package_opts = add_build_options, add_smoke_options, add_package_options
    for name, run, help_text, option_groups in (
        ("build", run_build, "fetch, verify, patch and compile zsh (reuses an up-to-date build)", [build_opts]),
        ("smoke", run_smoke, "smoke-test the built binary (foreign targets through qemu-user)", [smoke_opts]),
        ("package", run_package, "stage and write the deterministic tarball, .sha256 and provenance", [package_opts]),
        ("all", run_all, "build, smoke and package", [build_opts, smoke_opts, package_opts, add_container_option]),
        ("check", run_check, "run zsh's own test suite (make check) against the build", []),
        ("repro", run_repro, "build twice from clean trees in two work dirs and compare the tarballs", [build_opts]),
    ):
        parser = steps.add_parser(name, help=help_text, description=help_text)
        add_common(parser)
        for add_options in option_groups:
            add_options(parser)
        parser.set_defaults(run=run)
    compare = steps.add_parser(
        "compare",
        help="fail unless two directories hold every target's tarball with equal digests",
        description="Compare the tarballs of two independent builds (the release workflow's two attempts).",
    )
    compare.add_argument("first", type=Path, help="directory with one build's packages")
    compare.add_argument("second", type=Path, help="directory with the other build's packages")
    compare.set_defaults(run=run_compare)
    bump = steps.add_parser(
        "bump",
        help="pin a new version of zsh or ncurses in source.json",
        description="Pin a new source version: rewrites source.json with the new file name, URLs and sha256. "
        "Without --sha256 the tarball is downloaded from the new mirror list and its hash recorded; check "
        "it against the upstream signature before committing.",
    )
    bump.add_argument("name", choices=["zsh", "ncurses"], help="which source to bump")
    bump.add_argument("version", help="the new version, e.g. 5.9.1")
    bump.add_argument("--sha256", help="the tarball's known sha256 (skips the download)")
    bump.add_argument("--source", metavar="URL|PATH", help="location tried after the mirrors")
    bump.add_argument("--source-date-epoch", type=int, help="release date of a new zsh (packaged mtimes)")
    bump.set_defaults(run=run_bump)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="TRIPLE",
        help=f"target triple, one of: {', '.join(t.triple for t in targets.TARGETS)} (default: this machine's)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=build.default_root() / ".work",
        help="downloads and build trees (default: %(default)s)",
    )


def add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="URL|PATH", help="zsh-5.9.tar.xz location tried after the mirrors")
    parser.add_argument(
        "--ncurses-source", metavar="URL|PATH", help="ncurses-6.4.tar.gz location tried after the mirrors"
    )
    parser.add_argument("--jobs", type=int, default=None, help="parallel make jobs (default: CPU count)")
    parser.add_argument("--rebuild", action="store_true", help="build even if an up-to-date build exists")
    parser.add_argument(
        "--toolchain",
        choices=sorted({name for t in targets.TARGETS for name in t.fallback_toolchains}),
        help="build with a fallback toolchain the target's row lists (e.g. darwin-clang on a Mac); "
        "not the release path",
    )


def add_container_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--in-container",
        metavar="IMAGE",
        help="run all steps inside IMAGE through the docker SDK and copy the packages back into --dist-dir",
    )


def add_smoke_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--artifact",
        type=Path,
        metavar="TARBALL",
        help="smoke-test this packaged tarball (its provenance JSON beside it) instead of the build tree",
    )
    parser.add_argument(
        "--install-qemu",
        action="store_true",
        help="install Debian's qemu-user-static with apt-get if a foreign target needs it (root only)",
    )


def add_package_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dist-dir",
        type=Path,
        default=build.default_root() / "dist",
        help="where packages are written (default: %(default)s)",
    )


def resolve_target(args: argparse.Namespace) -> Target:
    if args.target is None:
        return build.host_target()
    try:
        return targets.get(args.target)
    except targets.UnknownTarget as exc:
        raise ReleaseError(str(exc)) from None


def context(args: argparse.Namespace) -> tuple[Target, WorkDir, TargetDirs, Progress]:
    target = resolve_target(args)
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        raise ReleaseError(f"--jobs must be at least 1, got {args.jobs}")
    work = build.open_work_dir(args.work_dir)
    return target, work, work.target(target), Progress(f"zsh {target.triple}")


def do_build(
    args: argparse.Namespace, target: Target, work: WorkDir, progress: Progress, *, force: bool = False
) -> dict[str, Any]:
    return build.build(
        target,
        work,
        progress,
        zsh_source=args.source,
        ncurses_source=args.ncurses_source,
        jobs=args.jobs,
        force=force or args.rebuild,
        toolchain=for_target(target, args.toolchain),
    )


def do_smoke(
    args: argparse.Namespace,
    target: Target,
    dirs: TargetDirs,
    record: dict[str, Any],
    progress: Progress,
    binary: Path | None = None,
) -> dict[str, Any]:
    if args.install_qemu:
        smoke.install_qemu(target, progress)
    with progress.step("smoke"):
        results = smoke.smoke(
            target,
            binary or dirs.zsh,
            dirs.root / "smoke",
            version=pins.load().zsh.version,
            modules=record["static_modules"],
            static=target.static,
        )
    for result in results:
        progress.say(f"  {result.status:7} {result.name}: {result.detail}")
    report = {"zsh_sha256": record["zsh_sha256"], **smoke.summary(results)}
    build.write_json(dirs.out / "smoke.json", report)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise ReleaseError(f"smoke test failed: {'; '.join(f'{r.name}: {r.detail}' for r in failed)}")
    if report["status"] == "not run":
        progress.say(
            f"smoke test NOT RUN for {target.triple}: {next(r.detail for r in results if r.status == 'not run')}"
        )
    return report


def do_package(
    args: argparse.Namespace, target: Target, dirs: TargetDirs, record: dict[str, Any], progress: Progress
) -> package.Artifact:
    with progress.step("package"):
        artifact = package.package(
            target, dirs, record, args.dist_dir.resolve(), build.source_date_epoch(), smoke_report(dirs, record)
        )
    progress.say(f"wrote {artifact.tarball} (sha256 {artifact.sha256})")
    return artifact


def smoke_report(dirs: TargetDirs, record: dict[str, Any]) -> dict[str, Any] | None:
    """The smoke result for exactly this binary, if one was recorded."""
    try:
        report: dict[str, Any] = json.loads((dirs.out / "smoke.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if report.get("zsh_sha256") == record["zsh_sha256"] else None


def run_build(args: argparse.Namespace) -> int:
    target, work, _, progress = context(args)
    do_build(args, target, work, progress)
    return 0


def run_smoke(args: argparse.Namespace) -> int:
    target, _, dirs, progress = context(args)
    if args.artifact is None:
        do_smoke(args, target, dirs, build.require_record(dirs, target), progress)
        return 0
    # A packaged artifact (the macos-15 runner smoke-tests what the Linux job built): the binary comes out
    # of the tarball and the module list out of the provenance written with it.
    binary, record = package.unpack(args.artifact, target, dirs.root / "artifact")
    do_smoke(args, target, dirs, record, progress, binary=binary)
    return 0


def run_package(args: argparse.Namespace) -> int:
    target, _, dirs, progress = context(args)
    do_package(args, target, dirs, build.require_record(dirs, target), progress)
    return 0


def run_all(args: argparse.Namespace) -> int:
    if args.in_container is not None:
        from release.toolchains import container

        target = resolve_target(args)
        progress = Progress(f"zsh {target.triple}")
        container.run_in_container(args.in_container, target, args.dist_dir.resolve(), progress)
        return 0
    target, work, dirs, progress = context(args)
    record = do_build(args, target, work, progress)
    do_smoke(args, target, dirs, record, progress)
    do_package(args, target, dirs, record, progress)
    total = sum(progress.timings.values())
    progress.say(f"all steps done in {total:.1f}s: " + ", ".join(f"{k} {v:.1f}s" for k, v in progress.timings.items()))
    return 0


def run_check(args: argparse.Namespace) -> int:
    target, _, dirs, progress = context(args)
    if target != build.host_target():
        raise ReleaseError(f"make check runs the test suite natively; {target.triple} is not this machine's target")
    build.require_record(dirs, target)
    with progress.step("make check"):
        outcome = check.make_check(dirs, os.cpu_count() or 2)
    progress.say(outcome.summary())
    if outcome.unexpected:
        raise ReleaseError(outcome.summary())
    return 0


def run_repro(args: argparse.Namespace) -> int:
    """Two clean builds of one target in two work dirs (sharing only the verified downloads), packaged
    the same way; any difference in the binary or the tarball is an error naming both digests."""
    target, work, _, progress = context(args)
    digests = []
    for name in ("repro-a", "repro-b"):
        root = work.root / name
        progress.say(f"clean build in {root}")
        shutil.rmtree(root, ignore_errors=True)
        tree = build.open_work_dir(root, downloads=work.downloads)
        record = do_build(args, target, tree, progress, force=True)
        artifact = package.package(target, tree.target(target), record, root / "dist", build.source_date_epoch(), None)
        digests.append((record["zsh_sha256"], artifact.sha256))
        progress.say(f"{name}: binary {record['zsh_sha256']}, tarball {artifact.sha256}")
    if digests[0] != digests[1]:
        raise ReleaseError(f"{target.triple} is not reproducible: {digests[0]} != {digests[1]} (binary, tarball)")
    progress.say(f"{target.triple} is reproducible: two clean builds give tarball sha256 {digests[0][1]}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    differences = []
    for target in targets.TARGETS:
        pair = [directory / target.asset_name for directory in (args.first, args.second)]
        missing = [str(path) for path in pair if not path.is_file()]
        if missing:
            differences.append(f"{target.triple}: missing {', '.join(missing)}")
            continue
        first, second = (fetch.sha256_file(path) for path in pair)
        print(f"{target.asset_name}: {first} {'==' if first == second else '!='} {second}")
        if first != second:
            differences.append(f"{target.triple}: {first} != {second}")
    if differences:
        raise ReleaseError(f"the two builds differ: {'; '.join(differences)}")
    print(f"all {len(targets.TARGETS)} targets are bit for bit reproducible")
    return 0


def run_bump(args: argparse.Namespace) -> int:
    current = pins.load()
    old = current.zsh if args.name == "zsh" else current.ncurses
    progress = Progress(f"bump {args.name}")
    sha256 = args.sha256
    draft = pins.bumped(old, args.version, sha256 or "")
    if sha256 is None:
        location, sha256 = fetch.hash_first_available(fetch.mirrors(draft, args.source), draft.file, progress)
        progress.say(f"{draft.file} from {location} has sha256 {sha256}")
    elif len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ReleaseError(f"--sha256 must be 64 lowercase hex digits, got {sha256!r}")
    pins.write(pins.bumped(old, args.version, sha256), args.source_date_epoch)
    progress.say(f"pinned {args.name} {args.version} in {pins.SOURCE_JSON}")
    return 0
