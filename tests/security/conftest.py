"""Backends for the hostile-code suite, each checked from the host side."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeloop.sandboxes import Sandbox, SandboxLimits
from codeloop.sandboxes.registry import make_sandbox

from ..conftest import require_docker

LIMITS = SandboxLimits(memory_mb=256, max_output_bytes=64 * 1024, max_file_mb=16, disk_mb=64, max_processes=32)


@pytest.fixture(scope="module", params=["local", pytest.param("docker", marks=pytest.mark.docker), "restricted"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    if request.param == "local":
        import shutil

        if not shutil.which("bwrap"):
            pytest.skip("the hostile-code guarantees of 'local' need bubblewrap")
    if request.param == "docker":
        from codeloop.sandboxes.docker import docker_available

        why = docker_available()
        if why:
            if require_docker():
                pytest.fail(f"CODELOOP_REQUIRE_DOCKER=1 but Docker is unusable: {why}")
            pytest.skip(why)
    box = make_sandbox(request.param, limits=LIMITS)
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def host_secret(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A secret file on the host, readable by its owner only, in a world-writable folder."""
    folder = tmp_path_factory.mktemp("host")
    folder.chmod(0o777)
    secret = folder / "secret.txt"
    value = "TOP-SECRET-" + os.urandom(8).hex()
    secret.write_text(value)
    secret.chmod(0o600)
    yield secret, value
