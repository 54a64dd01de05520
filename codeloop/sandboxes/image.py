"""Build a Docker sandbox image with what this machine has: a registry, or debootstrap."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from codeloop.errors import SandboxUnavailableError
from codeloop.sandboxes.docker import DEFAULT_IMAGE, LOCAL_IMAGE, _connect, _has_image

_TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt/archives",
         "var/lib/apt/lists")


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt already uses here (so no other host is needed)."""
    pattern = re.compile(r"^\s*(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(https?://\S+/debian)/?\s*$|"
                         r"^\s*(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(https?://\S+/debian)/?\s", re.MULTILINE)
    for file in sorted(sources.rglob("*")):
        if file.is_file() and file.suffix in (".list", ".sources"):
            for match in pattern.finditer(file.read_text(errors="replace")):
                return match.group(1) or match.group(2)
    return "http://deb.debian.org/debian"


def build_image(
    tag: str = LOCAL_IMAGE,
    *,
    suite: str = "bookworm",
    mirror: str | None = None,
    force: bool = False,
    pull_first: bool = True,
    log: Callable[[str], None] = print,
) -> str:
    """Make ``tag`` exist: pull ``python:3.12-slim`` if a registry answers, else debootstrap + import.

    Returns:
        The tag of the usable image.

    Raises:
        SandboxUnavailableError: no daemon, or neither way works (the message says what is missing).
    """
    client = _connect()
    if not force and _has_image(client, tag):
        log(f"{tag} is already built")
        return tag
    if pull_first:
        try:
            client.images.pull(DEFAULT_IMAGE)
            client.images.get(DEFAULT_IMAGE).tag(*tag.split(":", 1))
            log(f"pulled {DEFAULT_IMAGE} and tagged it {tag}")
            return tag
        except Exception as exc:
            log(f"no registry ({type(exc).__name__}); building {tag} from a local Debian root instead")
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailableError("debootstrap is not installed: apt-get install debootstrap")
    mirror = mirror or debian_mirror()
    with tempfile.TemporaryDirectory(prefix="codeloop-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        cmd = ["debootstrap", "--variant=minbase", "--include=python3", suite, str(root), mirror]
        log("$ " + " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SandboxUnavailableError(f"debootstrap failed:\n{proc.stderr[-2000:] or proc.stdout[-2000:]}")
        for part in _TRIM:
            shutil.rmtree(root / part, ignore_errors=True)
            (root / part).mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        repository, _, version = tag.partition(":")
        client.api.import_image_from_stream(tar.stdout, repository=repository, tag=version or "latest")
        tar.stdout.close()
        if tar.wait() != 0:
            raise SandboxUnavailableError("packing the Debian root for docker import failed")
    if not _has_image(client, tag):
        raise SandboxUnavailableError(f"docker import did not produce {tag}")
    log(f"built {tag} from Debian {suite} ({mirror})")
    return tag
