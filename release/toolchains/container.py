"""Run the Linux build inside a container image through the docker Python SDK (`--in-container IMAGE`).

The same `python -m release zsh` steps run inside the container against a copy of this checkout; only the
packages in dist/ come back. Talking to the engine through its API (not the docker CLI) means any engine
that speaks it works: a local dockerd, a remote DOCKER_HOST, or podman's compatible socket.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from release.errors import ReleaseError
from release.targets import Target
from release.zsh.build import default_root, safe_extract
from release.zsh.progress import Progress

SRC = "/src"
CA_BUNDLE = "/etc/codex-build-ca.pem"
EXCLUDED_TOP = {".git", ".work", ".cache", ".venv", ".nox", ".bootstrap", "dist", "build"}

SCRIPT = """set -eu
python3 -m venv /tmp/venv
/tmp/venv/bin/pip install -q '{src}[zsh]'
/tmp/venv/bin/python -m release zsh all --target {target} --work-dir /tmp/work --dist-dir {src}/dist
"""


def engine() -> Any:
    """A connected docker client, or a one-line error saying why there is none."""
    try:
        import docker
    except ImportError:
        raise ReleaseError("--in-container needs the docker SDK: pip install 'codex-app-tools[container]'") from None
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise ReleaseError(f"no container engine is reachable ({exc}); start dockerd or set DOCKER_HOST") from None
    return client


def host_pip_settings() -> tuple[dict[str, str], Path | None]:
    """The parts of this machine's pip configuration that also hold inside a container: index URLs reachable
    over the network and the CA bundle (machines behind a TLS-inspecting proxy need it to reach PyPI).

    Returns the PIP_* environment for the container and the CA bundle to copy in, if any.
    """
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    settings: dict[str, str] = {}
    for line in listed.stdout.splitlines():
        key, _, value = line.partition("=")
        settings[key.rsplit(".", 1)[-1]] = value.strip().strip("'\"")
    env = {}
    for key in ("index-url", "extra-index-url"):
        urls = [u for u in settings.get(key, "").split() if u.startswith(("http://", "https://"))]
        if urls:
            env[f"PIP_{key.upper().replace('-', '_')}"] = " ".join(urls)
    cert = Path(settings["cert"]) if settings.get("cert") else None
    if cert is not None and cert.is_file():
        env.update(PIP_CERT=CA_BUNDLE, SSL_CERT_FILE=CA_BUNDLE)
        return env, cert
    return env, None


def checkout_archive(root: Path, ca_bundle: Path | None = None) -> bytes:
    """The files of this checkout as a tar stream (git's list when available, else the tree minus outputs)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=root, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0:
        files = [root / name for name in listed.stdout.splitlines()]
    else:
        files = [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in EXCLUDED_TOP]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path in files:
            if path.is_file():
                tar.add(path, arcname=f"{SRC.lstrip('/')}/{path.relative_to(root).as_posix()}")
        if ca_bundle is not None:
            tar.add(ca_bundle, arcname=CA_BUNDLE.lstrip("/"))
    return raw.getvalue()


def run_in_container(image: str, target: Target, dist: Path, progress: Progress) -> None:
    if target.system != "Linux":
        raise ReleaseError(f"--in-container builds Linux targets only; {target.triple} is built on {target.runner}")
    client = engine()
    script = SCRIPT.format(src=SRC, target=target.triple)
    pip_env, ca_bundle = host_pip_settings()
    with progress.step(f"container {image}"):
        # Host networking: the build only needs to reach package registries, and engines started with
        # `--bridge=none` (as on machines where dockerd cannot manage iptables) have no bridge network.
        container = client.containers.create(
            image, command=["sh", "-c", script], working_dir=SRC, network_mode="host", environment=pip_env
        )
        try:
            container.put_archive("/", checkout_archive(default_root(), ca_bundle))
            container.start()
            for chunk in container.logs(stream=True, follow=True):
                sys.stderr.write(chunk.decode(errors="replace"))
            status = container.wait()["StatusCode"]
            if status != 0:
                raise ReleaseError(f"the build in {image} failed with exit status {status}")
            stream, _ = container.get_archive(f"{SRC}/dist")
            dist.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                files = [member for member in tar.getmembers() if member.isfile()]
                for member in files:
                    member.name = Path(member.name).name
                safe_extract(tar, files, dist)
        finally:
            container.remove(force=True)
    progress.say(f"copied the packages from {image} into {dist}")
