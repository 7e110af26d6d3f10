"""The macOS entry of a DotSlash file for all three platforms, checked by the real dotslash on Linux.

dotslash only fetches the entry of the platform it runs on, so the macOS entry is fetched by giving its
exact description (size, digest, format, path, providers) to the Linux key of a copy of the file: dotslash
then downloads it from the loopback server, checks its digest, unpacks it, and the binary it hands back must
pass the Mach-O structural check. The Linux artifact is the shared host build; the macOS one is a small
ad-hoc-signed program linked by the release's zig and packaged like the real zsh (the real macOS zsh goes
through the same steps in `nox -s zsh -- --target aarch64-apple-darwin`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from release import dotslash, targets
from release.zsh import macho
from release.zsh.package import deterministic_tar_gz, stage
from release.zsh.shared import HostBuild
from tests.release.dotslash_helpers import make_archive, serve_directory
from tests.release.test_zsh_macho import link

DARWIN = targets.get("aarch64-apple-darwin")


def artifacts(directory: Path, host_zsh: HostBuild, tmp_path: Path) -> Path:
    directory.mkdir()
    for target in targets.TARGETS:
        if target == host_zsh.target:
            shutil.copy2(host_zsh.tarball, directory / target.asset_name)
        elif target == DARWIN:
            program = link(tmp_path, "zsh", DARWIN.zig_target)
            deterministic_tar_gz(stage(program, tmp_path / "stage"), directory / target.asset_name, 0)
        else:
            make_archive(directory / target.asset_name)
    return directory


def as_host_entry(file: Path, platform: str, out: Path) -> Path:
    """A copy of the DotSlash file whose host platform entry is `platform`'s entry, verbatim."""
    text = file.read_text()
    header, _, body = text.partition("\n")
    data = json.loads(body)
    data["platforms"] = {targets.host().dotslash_platform: data["platforms"][platform]}
    out.write_text(f"{header}\n{json.dumps(data, indent=2)}\n")
    out.chmod(0o755)
    return out


def test_a_dotslash_file_for_all_three_platforms_parses_and_its_macos_entry_fetches(
    host_zsh: HostBuild, tmp_path: Path
) -> None:
    dist = artifacts(tmp_path / "dist", host_zsh, tmp_path)
    with serve_directory(dist) as url:
        text, assets = dotslash.generate(dotslash.DEFAULT_CONFIG, dist, dotslash.Providers(url_base=url))
        parsed = dotslash.write_checked(tmp_path / "codex-zsh", text)
        assert set(parsed["platforms"]) == {t.dotslash_platform for t in targets.TARGETS}
        assert len(assets) == 3
        macos = parsed["platforms"][DARWIN.dotslash_platform]
        assert macos["providers"] == [{"url": f"{url}/{DARWIN.asset_name}"}]
        fetcher = as_host_entry(tmp_path / "codex-zsh", DARWIN.dotslash_platform, tmp_path / "macos-entry")
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["DOTSLASH_CACHE"] = str(tmp_path / "cache")
        fetched = subprocess.run(
            [dotslash.dotslash_binary(), "--", "fetch", str(fetcher)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert fetched.returncode == 0, fetched.stderr
    binary = Path(fetched.stdout.strip())
    assert binary.name == "zsh"
    assert "ad-hoc signature" in macho.check(binary)
