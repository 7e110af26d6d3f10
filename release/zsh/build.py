"""Build the patched zsh for one target: fetch, verify, extract, patch, build ncurses, configure, make, strip.

Every input that changes the binary (source hashes, patch hash, target, compiler version, the recipe below)
goes into one cache key recorded next to the output, so a rerun with the same inputs reuses a build whose
files still hash to what was recorded, and any change rebuilds from clean trees.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_app_tools.atomic import atomic_write
from release import targets
from release.errors import ReleaseError
from release.targets import Target
from release.toolchains import Toolchain, for_target
from release.zsh import fetch, pins
from release.zsh.progress import Progress

TERMINFO_DIRS = "/etc/terminfo:/lib/terminfo:/usr/share/terminfo"
"""Where the static ncurses looks for terminfo at run time: the usual Linux locations, so the binary uses the
host's terminal database instead of shipping one."""

NCURSES_CONFIGURE = (
    "--without-shared",
    "--with-normal",
    "--without-debug",
    "--without-cxx",
    "--without-cxx-binding",
    "--without-ada",
    "--without-manpages",
    "--without-progs",
    "--without-tests",
    "--without-pkg-config",
    "--enable-widec",
    "--disable-db-install",
    f"--with-terminfo-dirs={TERMINFO_DIRS}",
    "--with-default-terminfo-dir=/usr/share/terminfo",
)

ZSH_CONFIGURE = (
    "--prefix=/usr/local",
    "--disable-dynamic",
    "--enable-multibyte",
    "--disable-gdbm",
    "--disable-pcre",
    "--with-tcsetpgrp",
    # The cache file is read back by `link_modules_statically` to learn which modules configure found
    # usable; --disable-dynamic alone would leave them all out.
    "--cache-file=config.cache",
)

CFLAGS_BASE = "-O2 -Wno-error=implicit-int -Wno-error=implicit-function-declaration"
"""zsh 5.9's configure probes are K&R C. clang 16 and later reject implicit int, so without these flags a
probe such as "does sigsuspend() work" fails to compile and configure wrongly concludes the feature is
broken (a zsh that then waits for children with pause() and hangs in its own test suite)."""

MODULE_LINKS_SCRIPT = r"""
. ./config.cache
for modfile in Src/*.mdd Src/*/*.mdd; do
  name= link=
  . ./$modfile
  case "$link" in *\ *) link=`eval "$link"`;; esac
  echo "$name $link"
done
"""
"""Evaluate each module's `link=` rule (from its .mdd file) against configure's cache, exactly as configure
does, to learn which modules it would have built as dynamic modules."""


@dataclass(frozen=True)
class TargetDirs:
    """Where one target's build lives inside the work dir."""

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def ncurses(self) -> Path:
        return self.root / "ncurses"

    @property
    def tools(self) -> Path:
        return self.root / "toolchain"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def zsh(self) -> Path:
        return self.out / "zsh"

    @property
    def debug(self) -> Path:
        """The unstripped binary: shipped separately so the artifact stays small and reproducible."""
        return self.out / "zsh.debug"

    @property
    def record(self) -> Path:
        return self.out / "build.json"


@dataclass(frozen=True)
class WorkDir:
    root: Path
    downloads: Path
    """Verified download cache; may live outside `root` so several work dirs share one."""

    def target(self, target: Target) -> TargetDirs:
        return TargetDirs(self.root / target.triple)


def open_work_dir(path: Path, downloads: Path | None = None) -> WorkDir:
    """Create the work dir and prove it is writable before any long step starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ReleaseError(f"work dir {path} is not writable: {exc.strerror or exc}") from None
    root = path.resolve()
    return WorkDir(root, downloads.resolve() if downloads else root / "downloads")


def default_root() -> Path:
    """The repository checkout holding this package, or the current directory for an installed copy."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def build_inputs(target: Target, toolchain: Toolchain) -> dict[str, Any]:
    """Everything that determines the output bytes; its hash is the build's cache key."""
    p = pins.load()
    return {
        "target": target.triple,
        "zsh": {"file": p.zsh.file, "sha256": p.zsh.sha256},
        "ncurses": {"file": p.ncurses.file, "sha256": p.ncurses.sha256} if toolchain.builds_ncurses else None,
        "patch_sha256": pins.patch_sha256(),
        "compiler": toolchain.version(),
        "ncurses_configure": ncurses_configure_args(target),
        "zsh_configure": zsh_configure_args(toolchain),
        "cflags": CFLAGS_BASE,
        "static": toolchain.static,
        "strip": toolchain.strip_flag(),
        # Only where a row excludes modules, so the cache keys of the other targets stay what they were.
        **({"excluded_modules": list(target.excluded_modules)} if target.excluded_modules else {}),
    }


def ncurses_configure_args(target: Target) -> list[str]:
    return [*NCURSES_CONFIGURE, *target.ncurses_configure]


def zsh_configure_args(toolchain: Toolchain) -> list[str]:
    answers = [f"{name}={value}" for name, value in sorted(toolchain.configure_answers().items())]
    return [*toolchain.configure_args(), *ZSH_CONFIGURE, f"--with-term-lib={toolchain.term_lib}", *answers]


def cache_key(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def load_record(dirs: TargetDirs) -> dict[str, Any] | None:
    """The recorded build if its outputs still hash to what was recorded; None otherwise."""
    try:
        record: dict[str, Any] = json.loads(dirs.record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for path, key in ((dirs.zsh, "zsh_sha256"), (dirs.debug, "debug_sha256")):
        if not path.is_file() or fetch.sha256_file(path) != record.get(key):
            return None
    return record


def require_record(dirs: TargetDirs, target: Target) -> dict[str, Any]:
    record = load_record(dirs)
    if record is None:
        raise ReleaseError(
            f"no verified build of {target.triple} in {dirs.root}; "
            f"run `python -m release zsh build --target {target.triple}` first"
        )
    return record


def build(
    target: Target,
    work: WorkDir,
    progress: Progress,
    *,
    zsh_source: str | None = None,
    ncurses_source: str | None = None,
    jobs: int | None = None,
    force: bool = False,
    toolchain: Toolchain | None = None,
) -> dict[str, Any]:
    """Build (or reuse) the stripped zsh for `target`; returns the build record written next to it.

    `toolchain` defaults to the one the targets table names; the benchmark passes another to compare.
    """
    toolchain = toolchain or for_target(target)
    toolchain.check()
    dirs = work.target(target)
    inputs = build_inputs(target, toolchain)
    key = cache_key(inputs)
    existing = load_record(dirs)
    if existing is not None and existing.get("key") == key and not force:
        progress.say(f"build is up to date ({dirs.zsh}); pass --rebuild to build again")
        return existing

    p = pins.load()
    with progress.step("fetch"):
        zsh_tar = fetch.fetch(p.zsh, fetch.mirrors(p.zsh, zsh_source), work.downloads, progress)
        ncurses_tar = (
            fetch.fetch(p.ncurses, fetch.mirrors(p.ncurses, ncurses_source), work.downloads, progress)
            if toolchain.builds_ncurses
            else None
        )
    with progress.step("extract"):
        shutil.rmtree(dirs.root, ignore_errors=True)
        zsh_src = extract(zsh_tar, dirs.src)
        ncurses_src = extract(ncurses_tar, dirs.src) if ncurses_tar else None
    with progress.step("patch"):
        apply_patch(zsh_src, pins.patch_bytes(), dirs.logs / "patch.log")
    env = build_env(toolchain, dirs)
    jobs = jobs or os.cpu_count() or 2
    cppflags, ldflags = "", "-static" if toolchain.static else ""
    if ncurses_src is not None:
        with progress.step("ncurses"):
            build_ncurses(toolchain, ncurses_configure_args(target), ncurses_src, dirs, env, jobs)
        cppflags = f"-I{dirs.ncurses / 'include'}"
        ldflags += f" -L{dirs.ncurses / 'lib'}"
    zsh_env = {**env, "CPPFLAGS": cppflags, "LDFLAGS": ldflags.strip(), "CFLAGS": cflags(zsh_src)}
    with progress.step("configure"):
        run(
            ["./configure", *zsh_configure_args(toolchain)],
            zsh_src,
            zsh_env,
            dirs.logs / "zsh-configure.log",
            "zsh configure",
        )
        static_modules = link_modules_statically(
            zsh_src, zsh_env, dirs.logs / "zsh-configure.log", target.excluded_modules
        )
    with progress.step("make"):
        run(["make", f"-j{jobs}"], zsh_src, zsh_env, dirs.logs / "zsh-make.log", "zsh make")
    with progress.step("strip"):
        dirs.out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(zsh_src / "Src" / "zsh", dirs.debug)
        (zsh_src / "Src" / "zsh").unlink()
        stripped_ldflags = f"{zsh_env['LDFLAGS']} {toolchain.strip_flag()}".strip()
        run(
            ["make", "-C", "Src", "zsh", f"LDFLAGS={stripped_ldflags}"],
            zsh_src,
            zsh_env,
            dirs.logs / "zsh-strip.log",
            "linking the stripped zsh",
        )
        shutil.copy2(zsh_src / "Src" / "zsh", dirs.zsh)
    record: dict[str, Any] = {
        "key": key,
        "toolchain": toolchain.name,
        "inputs": inputs,
        "static_modules": static_modules,
        "ldflags": zsh_env["LDFLAGS"].replace(str(dirs.root), "$TARGET_DIR"),
        "zsh_sha256": fetch.sha256_file(dirs.zsh),
        "debug_sha256": fetch.sha256_file(dirs.debug),
        "zsh_size": dirs.zsh.stat().st_size,
        "debug_size": dirs.debug.stat().st_size,
        "timings": dict(progress.timings),
    }
    write_json(dirs.record, record)
    progress.say(f"built {dirs.zsh} ({dirs.zsh.stat().st_size / 1e6:.2f} MB stripped)")
    return record


def extract(archive: Path, dest: Path) -> Path:
    """Unpack a verified tarball that must hold exactly one top directory; returns that directory."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        top = {member.name.split("/", 1)[0] for member in members}
        if len(top) != 1:
            raise ReleaseError(f"{archive.name} does not unpack into a single directory: {sorted(top)}")
        safe_extract(tar, members, dest)
    return dest / top.pop()


def safe_extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo], dest: Path) -> None:
    """Extract with the `data` filter's guarantees: no absolute paths, nothing outside `dest`, no devices.

    Python before 3.11.4 (Debian bookworm ships 3.11.2) has no extraction filters, so there the same rules
    are checked by hand before extracting.
    """
    if hasattr(tarfile, "data_filter"):
        try:
            tar.extractall(dest, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise ReleaseError(f"refusing to extract: {exc}") from None
        return
    root = dest.resolve()
    for member in members:
        target = (root / member.name).resolve()
        link = root
        if member.issym():
            link = (target.parent / member.linkname).resolve()
        elif member.islnk():
            link = (root / member.linkname).resolve()
        outside = not (target.is_relative_to(root) and link.is_relative_to(root))
        if member.name.startswith("/") or outside or member.isdev():
            raise ReleaseError(f"refusing to extract {member.name!r}: absolute, outside the tree, or a device")
    tar.extractall(dest, members=members)  # noqa: S202 (members checked above)


def apply_patch(src: Path, patch: bytes, log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        result = subprocess.run(
            ["patch", "-p1", "--forward", "--batch"],
            cwd=src,
            input=patch,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise ReleaseError(f"exec-wrapper.patch does not apply to {src.name}: {last_line(log)} (log: {log})")


def build_env(toolchain: Toolchain, dirs: TargetDirs) -> dict[str, str]:
    """A reproducible environment: C locale, UTC, fixed SOURCE_DATE_EPOCH, compiler wrappers first."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS", "MAKEFLAGS", "MFLAGS"))
    }
    env.update(toolchain.write_wrappers(dirs.tools))
    env.update(
        LC_ALL="C",
        TZ="UTC",
        SOURCE_DATE_EPOCH=str(source_date_epoch()),
        PATH=f"{dirs.tools}{os.pathsep}{env.get('PATH', os.defpath)}",
    )
    return env


def cflags(src: Path) -> str:
    """Map the build directory away so no path of this machine ends up in the binary."""
    return f"{CFLAGS_BASE} -ffile-prefix-map={src}=."


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return pins.load().source_date_epoch
    if not value.isdigit():
        raise ReleaseError(f"SOURCE_DATE_EPOCH must be a non-negative integer, got {value!r}")
    return int(value)


def build_ncurses(
    toolchain: Toolchain, configure: list[str], src: Path, dirs: TargetDirs, env: dict[str, str], jobs: int
) -> None:
    """Static wide-character ncurses, libraries and headers only: all zsh's configure and zle need."""
    nc_env = {**env, "CFLAGS": cflags(src)}
    log = dirs.logs / "ncurses.log"
    args = ["./configure", *toolchain.configure_args(), f"--prefix={dirs.ncurses}", *configure]
    run(args, src, nc_env, log, "ncurses configure")
    run(["make", f"-j{jobs}", "libs"], src, nc_env, log, "ncurses make")
    run(["make", "install.libs", "install.includes"], src, nc_env, log, "ncurses install")


def link_modules_statically(src: Path, env: dict[str, str], log: Path, excluded: tuple[str, ...] = ()) -> list[str]:
    """Switch every module configure found usable to `link=static` in config.modules.

    With --disable-dynamic, configure marks all loadable modules `link=no`, which would drop zsh/regex,
    zsh/zpty, zsh/system and most others from a static binary. Modules whose dependencies are missing
    (gdbm, pcre) evaluate to `no` and stay out.
    """
    result = subprocess.run(
        ["sh", "-c", MODULE_LINKS_SCRIPT], cwd=src, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ReleaseError(f"evaluating zsh module rules failed: {result.stderr.strip()}")
    lines_out = (line.partition(" ") for line in result.stdout.splitlines())
    usable = {name for name, _, link in lines_out if link != "no" and name not in excluded}
    config = src / "config.modules"
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    static = []
    for i, line in enumerate(lines):
        if not line.startswith("name="):
            continue
        name = line.split()[0].removeprefix("name=")
        if name in usable:
            lines[i] = line.replace(" link=no ", " link=static ")
            static.append(name)
    config.write_text("".join(lines), encoding="utf-8")
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\nmodules linked statically: {' '.join(static)}\n")
    return static


def run(args: list[str], cwd: Path, env: dict[str, str], log: Path, what: str) -> None:
    """Run one build command with its output appended to `log`; a failure names the log's last line."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(args)}\n".encode())
        out.flush()
        result = subprocess.run(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise ReleaseError(f"{what} failed (exit {result.returncode}): {last_line(log)} (log: {log})")


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "no output")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` atomically: a crash never leaves a half-written record that looks valid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def host_target() -> Target:
    try:
        return targets.host()
    except targets.UnknownTarget as exc:
        raise ReleaseError(str(exc)) from None
