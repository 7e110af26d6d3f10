"""DotSlash files for the release artifacts: generated from the publish config, checked by the real binary.

A DotSlash file is what users (and our tests) execute: it names, per platform, the archive to fetch, its
size and digest, and where to fetch it from. Getting one byte wrong means every user gets a refusal, so
every file we write is parsed by the real `dotslash` binary (PyPI package `dotslash`) before it lands.

The publish config (`dotslash/config.json`) maps outputs -> DotSlash platforms -> asset; it is derived from
the targets table (`python -m release dotslash config`), and a test checks the committed copy agrees.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import blake3
import dotslash

from codex_app_tools.atomic import atomic_write
from release import targets
from release.errors import ReleaseError

HashAlgorithm = Literal["blake3", "sha256"]
HASHES: tuple[HashAlgorithm, ...] = ("blake3", "sha256")

# Archive formats DotSlash unpacks, by file name suffix; the first match wins, so the longer suffixes come
# first. A name with none of these suffixes is a bare executable and gets no "format" key.
FORMATS: tuple[tuple[str, str], ...] = (
    (".tar.gz", "tar.gz"),
    (".tar.zst", "tar.zst"),
    (".tar.xz", "tar.xz"),
    (".zip", "zip"),
)

SHEBANG = "#!/usr/bin/env dotslash"
OUTPUT_NAME = "codex-zsh"
BINARY_PATH = "codex-zsh/bin/zsh"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "dotslash" / "config.json"
DEFAULT_SERVER_URL = "https://github.com"
_CHUNK = 1 << 20


def archive_format(file_name: str) -> str | None:
    """DotSlash's `format` for an asset, inferred from its name; None for a bare executable."""
    for suffix, fmt in FORMATS:
        if file_name.endswith(suffix):
            return fmt
    return None


@dataclass(frozen=True)
class PlatformRule:
    """How one platform's asset is found among the artifacts: an exact name or a regex, never both."""

    platform: str
    path: str
    name: str | None = None
    regex: re.Pattern[str] | None = None

    def matches(self, file_name: str) -> bool:
        if self.regex is not None:
            return self.regex.fullmatch(file_name) is not None
        return file_name == self.name

    def describe(self) -> str:
        return f"regex {self.regex.pattern!r}" if self.regex is not None else f"name {self.name!r}"


@dataclass(frozen=True)
class Output:
    """One DotSlash file to generate: its `name` and a rule per platform."""

    name: str
    platforms: tuple[PlatformRule, ...]


def config_from_targets() -> dict[str, Any]:
    """The publish config as the targets table implies it; `dotslash/config.json` must equal this."""
    return {
        "outputs": {
            OUTPUT_NAME: {
                "platforms": {t.dotslash_platform: {"name": t.asset_name, "path": BINARY_PATH} for t in targets.TARGETS}
            }
        }
    }


def load_config(path: Path) -> list[Output]:
    """Read and check the publish config; every mistake is reported with its JSON location."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReleaseError(f"cannot read publish config {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    outputs = raw.get("outputs") if isinstance(raw, dict) else None
    if not isinstance(outputs, dict) or not outputs:
        raise ReleaseError(f"{path}: expected an object with a non-empty 'outputs' object")
    known = {t.dotslash_platform for t in targets.TARGETS}
    result = []
    for name, spec in outputs.items():
        platforms = spec.get("platforms") if isinstance(spec, dict) else None
        if not isinstance(platforms, dict) or not platforms:
            raise ReleaseError(f"{path}: outputs.{name}: expected a non-empty 'platforms' object")
        rules = []
        for platform, rule in platforms.items():
            where = f"{path}: outputs.{name}.platforms.{platform}"
            if platform not in known:
                raise ReleaseError(f"{where}: not a platform in the targets table ({', '.join(sorted(known))})")
            rules.append(_parse_rule(where, platform, rule))
        result.append(Output(name=name, platforms=tuple(rules)))
    return result


def _parse_rule(where: str, platform: str, rule: object) -> PlatformRule:
    if not isinstance(rule, dict):
        raise ReleaseError(f"{where}: expected an object")
    path, name, regex = rule.get("path"), rule.get("name"), rule.get("regex")
    if not isinstance(path, str) or not path:
        raise ReleaseError(f"{where}: 'path' (the executable inside the asset) is required")
    if (name is None) == (regex is None):
        raise ReleaseError(f"{where}: give exactly one of 'name' and 'regex'")
    if name is not None:
        if not isinstance(name, str) or not name:
            raise ReleaseError(f"{where}: 'name' must be a non-empty string")
        return PlatformRule(platform=platform, path=path, name=name)
    if not isinstance(regex, str):
        raise ReleaseError(f"{where}: 'regex' must be a string")
    try:
        return PlatformRule(platform=platform, path=path, regex=re.compile(regex))
    except re.error as exc:
        raise ReleaseError(f"{where}: bad regex: {exc}") from None


def find_output(outputs: Iterable[Output], name: str | None) -> Output:
    """The output to generate: the named one, or the only one."""
    outputs = list(outputs)
    if name is None:
        if len(outputs) == 1:
            return outputs[0]
        raise ReleaseError(f"the config has several outputs; pick one with --output ({_names(outputs)})")
    for output in outputs:
        if output.name == name:
            return output
    raise ReleaseError(f"no output {name!r} in the config ({_names(outputs)})")


def _names(outputs: Iterable[Output]) -> str:
    return ", ".join(o.name for o in outputs)


@dataclass(frozen=True)
class Asset:
    """An artifact file matched to a platform, with the facts DotSlash needs about it."""

    platform: str
    file: Path
    path: str
    size: int
    blake3: str
    sha256: str

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def format(self) -> str | None:
        return archive_format(self.file.name)

    def digest(self, algorithm: HashAlgorithm) -> str:
        return self.blake3 if algorithm == "blake3" else self.sha256


def match_assets(
    output: Output, artifacts: Path, platforms: Iterable[str] | None = None, *, available_only: bool = False
) -> tuple[dict[str, Path], list[str]]:
    """Match each platform's rule against the files in `artifacts`: (matches, problems naming the platform).

    Problems are returned rather than raised so a dry run can print the whole plan and every problem at once.
    `available_only` (local builds, which make one target at a time) skips platforms with no asset at all.
    """
    if not artifacts.is_dir():
        raise ReleaseError(f"artifacts directory {artifacts} does not exist")
    files = sorted(p.name for p in artifacts.iterdir() if p.is_file())
    wanted = None if platforms is None else set(platforms)
    found: dict[str, Path] = {}
    problems = []
    for rule in output.platforms:
        if wanted is not None and rule.platform not in wanted:
            continue
        hits = [f for f in files if rule.matches(f)]
        if not hits:
            if not available_only:
                problems.append(f"platform {rule.platform}: no asset with {rule.describe()} in {artifacts}")
        elif len(hits) > 1:
            problems.append(f"platform {rule.platform}: {len(hits)} assets match {rule.describe()}: {', '.join(hits)}")
        else:
            found[rule.platform] = artifacts / hits[0]
    if wanted is not None:
        problems += [
            f"platform {p}: not in output {output.name!r}"
            for p in sorted(wanted - {r.platform for r in output.platforms})
        ]
    if available_only and not found and not problems:
        problems.append(f"no asset for any platform of output {output.name!r} in {artifacts}")
    return found, problems


def describe_asset(platform: str, file: Path, path: str) -> Asset:
    """Hash an asset with both algorithms in one read; progress goes to stderr since archives can be large."""
    b3, sha = blake3.blake3(), hashlib.sha256()
    size = 0
    print(f"hashing {file.name}", file=sys.stderr)
    with file.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            b3.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return Asset(platform=platform, file=file, path=path, size=size, blake3=b3.hexdigest(), sha256=sha.hexdigest())


def collect_assets(
    output: Output, artifacts: Path, platforms: Iterable[str] | None = None, *, available_only: bool = False
) -> list[Asset]:
    """Every platform's asset, hashed; any missing or ambiguous platform is an error naming it."""
    found, problems = match_assets(output, artifacts, platforms, available_only=available_only)
    if problems:
        raise ReleaseError("; ".join(problems))
    return describe_matches(output, found)


def describe_matches(output: Output, found: dict[str, Path]) -> list[Asset]:
    """Hash each matched file, with the executable path its platform's rule names."""
    rules = {r.platform: r for r in output.platforms}
    return [describe_asset(p, f, rules[p].path) for p, f in found.items()]


@dataclass(frozen=True)
class Providers:
    """Where DotSlash may fetch the assets from, tried in order: the GitHub release, then a plain URL."""

    github_repo: str | None = None
    tag: str | None = None
    url_base: str | None = None

    def __post_init__(self) -> None:
        if (self.github_repo is None) != (self.tag is None):
            raise ReleaseError("--github-repo and --tag go together")
        if self.github_repo is None and self.url_base is None:
            raise ReleaseError("give --github-repo and --tag, or --url-base, or both")

    @property
    def download_base(self) -> str:
        """Base URL the `url` provider uses: explicit, or the release's browser download location."""
        if self.url_base is not None:
            return self.url_base.rstrip("/")
        server = os.environ.get("GITHUB_SERVER_URL", DEFAULT_SERVER_URL).rstrip("/")
        return f"{server}/{self.github_repo}/releases/download/{self.tag}"

    def url(self, asset_name: str) -> str:
        return f"{self.download_base}/{quote(asset_name)}"

    def entries(self, asset_name: str) -> list[dict[str, str]]:
        result = []
        if self.github_repo is not None and self.tag is not None:
            result.append({"type": "github-release", "repo": self.github_repo, "tag": self.tag, "name": asset_name})
        result.append({"url": self.url(asset_name)})
        return result


def render(name: str, assets: Iterable[Asset], providers: Providers, algorithm: HashAlgorithm = "blake3") -> str:
    """The DotSlash file text; platforms in targets-table order so regenerating gives the same bytes."""
    order = {t.dotslash_platform: i for i, t in enumerate(targets.TARGETS)}
    platforms: dict[str, dict[str, Any]] = {}
    for asset in sorted(assets, key=lambda a: order[a.platform]):
        entry: dict[str, Any] = {"size": asset.size, "hash": algorithm, "digest": asset.digest(algorithm)}
        if asset.format is not None:
            entry["format"] = asset.format
        entry["path"] = asset.path
        entry["providers"] = providers.entries(asset.name)
        platforms[asset.platform] = entry
    return f"{SHEBANG}\n\n{json.dumps({'name': name, 'platforms': platforms}, indent=2)}\n"


def dotslash_binary() -> str:
    """Path of the real dotslash binary shipped by the PyPI `dotslash` package."""
    try:
        return dotslash.locate()
    except FileNotFoundError:
        raise ReleaseError("the dotslash package is installed without its binary: reinstall dotslash") from None


def parse(file: Path) -> dict[str, Any]:
    """What the real dotslash makes of a file (`dotslash -- parse`); its own complaint on failure."""
    proc = subprocess.run([dotslash_binary(), "--", "parse", str(file)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        causes = [line.removeprefix("caused by: ") for line in proc.stderr.splitlines() if line.strip()]
        raise ReleaseError(f"dotslash rejects {file}: {causes[-1] if causes else 'no reason given'}")
    parsed: dict[str, Any] = json.loads(proc.stdout)
    return parsed


def write_checked(path: Path, text: str | bytes) -> dict[str, Any]:
    """Write a DotSlash file atomically, only after the real dotslash has parsed it; returns the parse.

    The parse runs on a private copy, so a rejected file never replaces a good one.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    parsed = check_text(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data, mode=0o755)
    return parsed


def check_text(text: str | bytes) -> dict[str, Any]:
    """Parse generated text with the real dotslash without writing it anywhere the user sees (dry runs)."""
    with tempfile.TemporaryDirectory(prefix="dotslash-check-") as tmp:
        copy = Path(tmp) / OUTPUT_NAME
        copy.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        copy.chmod(0o755)
        return parse(copy)


def generate(
    config: Path,
    artifacts: Path,
    providers: Providers,
    *,
    output_name: str | None = None,
    platforms: Iterable[str] | None = None,
    available_only: bool = False,
    algorithm: HashAlgorithm = "blake3",
) -> tuple[str, list[Asset]]:
    """The DotSlash file text for one output of the config, and the assets it describes."""
    output = find_output(load_config(config), output_name)
    assets = collect_assets(output, artifacts, platforms, available_only=available_only)
    return render(output.name, assets, providers, algorithm), assets


def _cmd_generate(args: argparse.Namespace) -> int:
    providers = Providers(github_repo=args.github_repo, tag=args.tag, url_base=args.url_base)
    text, assets = generate(
        args.config,
        args.artifacts,
        providers,
        output_name=args.output,
        platforms=args.platform,
        available_only=args.available,
        algorithm=args.hash,
    )
    write_checked(args.out, text)
    print(f"wrote {args.out}: {len(assets)} platform(s), {args.hash} digests, checked by dotslash")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    text = json.dumps(config_from_targets(), indent=2) + "\n"
    if args.write is None:
        sys.stdout.write(text)
    else:
        atomic_write(args.write, text)
        print(f"wrote {args.write} from the targets table")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dotslash",
        help="generate DotSlash files for the release artifacts",
        description="Generate DotSlash files for the release artifacts, each checked by the real dotslash.",
    )
    commands = parser.add_subparsers(dest="dotslash_command", required=True, metavar="COMMAND")

    gen = commands.add_parser(
        "generate",
        help="write a DotSlash file for the artifacts in a directory",
        description="Hash the artifacts named by the publish config and write a DotSlash file for them.",
    )
    gen.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="publish config (default: %(default)s)")
    gen.add_argument("--artifacts", type=Path, required=True, help="directory holding the packaged artifacts")
    gen.add_argument("--out", type=Path, required=True, help="DotSlash file to write")
    gen.add_argument("--output", help="which output of the config (default: the only one)")
    gen.add_argument("--github-repo", metavar="OWNER/REPO", help="add a github-release provider for this repo")
    gen.add_argument("--tag", help="release tag for the github-release provider")
    gen.add_argument(
        "--url-base", metavar="URL", help="base URL of the url provider (default: the release's download URL)"
    )
    gen.add_argument("--hash", choices=HASHES, default="blake3", help="digest algorithm (default: %(default)s)")
    which = gen.add_mutually_exclusive_group()
    which.add_argument(
        "--platform",
        action="append",
        choices=[t.dotslash_platform for t in targets.TARGETS],
        help="only this platform (repeatable; default: every platform of the output)",
    )
    which.add_argument(
        "--available",
        action="store_true",
        help="only the platforms whose artifacts are present (local builds make one target at a time)",
    )
    gen.set_defaults(run=_cmd_generate)

    cfg = commands.add_parser(
        "config",
        help="print the publish config implied by the targets table",
        description="Print (or --write) the publish config derived from release/targets.py.",
    )
    cfg.add_argument("--write", type=Path, metavar="FILE", help="write it to FILE instead of stdout")
    cfg.set_defaults(run=_cmd_config)
