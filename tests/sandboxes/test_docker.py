"""DockerSandbox specifics, checked against the real daemon from the host side."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from codeloop.errors import SandboxUnavailableError
from codeloop.sandboxes.docker import LABEL, DockerSandbox, docker_available

from ..conftest import require_docker

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    why = docker_available()
    if why:
        if require_docker():
            pytest.fail(f"CODELOOP_REQUIRE_DOCKER=1 but Docker is unusable: {why}")
        pytest.skip(why)
    import docker

    api = docker.from_env()
    yield api
    api.close()


def owned_by(client: Any, owner: str) -> list[dict[str, Any]]:
    return list(client.api.containers(all=True, filters={"label": f"{LABEL}.owner={owner}"}))


def test_containers_are_locked_down(client: Any) -> None:
    with DockerSandbox(pool_size=1) as sandbox:
        sandbox.run("print(1)")
        deadline = time.monotonic() + 20
        while sandbox._pool.qsize() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        warm = sandbox._pool.queue[0]
        host = client.api.inspect_container(warm.container_id)["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Memory"] > 0 and host["PidsLimit"] > 0 and host["NanoCpus"] > 0
    assert set(host["Tmpfs"]) == {"/work", "/tmp"}


def test_the_user_process_has_no_privileges(client: Any) -> None:
    code = textwrap.dedent("""
        import os
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        print(os.getuid(), status["CapEff"].strip(), status["NoNewPrivs"].strip())
        try:
            open("/etc/owned", "w")
        except OSError as exc:
            print(type(exc).__name__)
    """)
    with DockerSandbox(pool_size=0) as sandbox:
        result = sandbox.run(code)
    uid, caps, no_new_privs, error = result.stdout.split()
    assert int(uid) >= 1_000_000_000
    assert caps == "0000000000000000" and no_new_privs == "1"
    assert error in ("OSError", "PermissionError")


def test_no_container_outlives_close(client: Any) -> None:
    sandbox = DockerSandbox(pool_size=2)
    sandbox.run("print(1)")
    owner = sandbox._owner
    deadline = time.monotonic() + 20
    while not owned_by(client, owner) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert owned_by(client, owner)  # the pool is there while the sandbox is open
    sandbox.close()
    assert owned_by(client, owner) == []


def test_orphans_of_a_dead_process_are_reaped(client: Any) -> None:
    dead = f"{socket.gethostname()}:{2**22 + 7}"  # above pid_max: no such process
    with DockerSandbox(pool_size=0) as probe:
        image = probe.image
    orphan = client.api.create_container(image, command=["true"], labels={LABEL: "1", f"{LABEL}.owner": dead})
    sandbox = DockerSandbox(pool_size=0)  # its first use reaps what a dead process left
    try:
        sandbox.run("print(1)")
        assert owned_by(client, dead) == []
    finally:
        sandbox.close()
        if owned_by(client, dead):
            client.api.remove_container(orphan["Id"], force=True)


@pytest.mark.parametrize("ending", ["exit", "sigterm"])
def test_interpreter_exit_and_sigterm_clean_up(client: Any, ending: str) -> None:
    script = textwrap.dedent(f"""
        import os, sys, time
        from codeloop.sandboxes import DockerSandbox
        box = DockerSandbox(pool_size=2)
        assert box.run("print(1)").stdout == "1\\n"
        print(box._owner, flush=True)
        if {ending!r} == "sigterm":
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    owner = proc.stdout.readline().strip()
    if ending == "sigterm":
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    proc.stdout.close()
    assert owner
    assert owned_by(client, owner) == []


def test_image_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOOP_DOCKER_IMAGE", "example/custom:1")
    assert DockerSandbox().image == "example/custom:1"
    assert DockerSandbox("other:2").image == "other:2"


def test_a_missing_image_says_how_to_build_one(client: Any) -> None:
    with DockerSandbox("codeloop-no-such-image:0", pool_size=0) as sandbox, \
            pytest.raises(SandboxUnavailableError, match="codeloop sandbox build-image"):
        sandbox.run("print(1)")


def test_a_daemon_that_is_down_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(SandboxUnavailableError, match="cannot reach the Docker daemon"):
        DockerSandbox(pool_size=0).run("print(1)")


def test_runs_after_close_are_refused(client: Any) -> None:
    sandbox = DockerSandbox(pool_size=0)
    sandbox.run("print(1)")
    sandbox.close()
    with pytest.raises(SandboxUnavailableError, match="closed"):
        sandbox.run("print(1)")


def test_owner_process_is_this_one() -> None:
    assert DockerSandbox()._owner.endswith(f":{os.getpid()}")
