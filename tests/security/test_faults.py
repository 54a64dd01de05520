"""Faults around the code: each ends in a clear error or a clean retry, never a hang, and a
run with a checkpointer resumes afterwards with its earlier attempts intact."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from codeloop import ConfigError, SandboxUnavailableError, build_graph, scripted_model
from codeloop.durable import sqlite_checkpointer
from codeloop.sandboxes import LocalSandbox

from ..conftest import fenced, host_processes_named, require_docker

TASK = "Write add(a, b)."
TESTS = [{"call": "add(2, 3)", "expected": 5}]
GOOD = fenced("def add(a, b):\n    return a + b")


class DockerProxy:
    """A unix-socket relay to the Docker daemon that a test can cut, as if dockerd stopped."""

    def __init__(self, path: Path, upstream: str = "/var/run/docker.sock") -> None:
        self.path, self.upstream = path, upstream
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []

    def start(self) -> None:
        self.path.unlink(missing_ok=True)
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.upstream)
            self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self.conns.clear()


@pytest.mark.docker
def test_the_docker_daemon_stops_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codeloop.sandboxes.docker import DockerSandbox, docker_available

    why = docker_available()
    if why:
        if require_docker():
            pytest.fail(why)
        pytest.skip(why)
    proxy = DockerProxy(tmp_path / "docker.sock")
    proxy.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{proxy.path}")
    sandbox = DockerSandbox(pool_size=0)
    slow_bug = fenced("import time\ntime.sleep(3)\n\ndef add(a, b):\n    return a - b")
    graph = build_graph(model=scripted_model([slow_bug, GOOD]), sandbox=sandbox, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "daemon-down"}}
    try:
        threading.Timer(1.5, proxy.stop).start()
        started = time.monotonic()
        with pytest.raises(SandboxUnavailableError):
            graph.invoke({"task": TASK, "tests": TESTS}, config)
        assert time.monotonic() - started < 30  # a clear error, not a hang
        assert graph.get_state(config).values["attempts"] == 1
        proxy.start()  # the daemon is back
        out = graph.invoke(None, config)
        assert out["status"] == "passed" and out["attempts"] == 2
        assert out["history"][0]["code"].endswith("return a - b")
    finally:
        sandbox.close()
        owner = sandbox._owner
        proxy.stop()
    import docker

    client = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    assert client.api.containers(all=True, filters={"label": f"codeloop.sandbox.owner={owner}"}) == []
    client.close()


def test_a_sandbox_child_killed_from_outside_is_data(local_sandbox: LocalSandbox) -> None:
    marker = f"codeloop-victim-{uuid.uuid4().hex}"
    victim = fenced(f'import os\nos.execv("/bin/sleep", ["{marker}", "30"])\n\ndef add(a, b):\n    return a + b')

    def kill_it() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for pid in host_processes_named(marker):
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    threading.Thread(target=kill_it, daemon=True).start()
    graph = build_graph(model=scripted_model([victim, GOOD]), sandbox=local_sandbox, timeout_s=25, policy="off")
    out = graph.invoke({"task": TASK, "tests": TESTS})
    assert out["status"] == "passed" and out["attempts"] == 2
    assert "signal 9" in out["history"][0]["feedback"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_the_temp_dir_disk_fills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    tiny = tmp_path / "tiny"
    tiny.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tiny)], check=True)
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(tiny))
        with LocalSandbox(use_bubblewrap=False) as sandbox:
            with pytest.raises(SandboxUnavailableError, match="No space left"):
                sandbox.run("print(1)", files={"big.bin": b"0" * (2 << 20)})
            full = sandbox.run("open('x.bin', 'wb').write(b'0' * (2 << 20))")
            assert full.exit_code == 1 and "No space left" in full.stderr
            assert sandbox.run("print('recovered')").stdout == "recovered\n"
    finally:
        subprocess.run(["umount", str(tiny)], check=False)


def test_a_locked_checkpoint_file_is_waited_for_then_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(3)\nc.execute('COMMIT')", str(db)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    with pytest.raises(ConfigError, match="another process"), sqlite_checkpointer(db, busy_timeout_s=0.5):
        pass
    assert time.monotonic() - started < 3
    with sqlite_checkpointer(db, busy_timeout_s=30) as saver:  # waits for the holder, then works
        graph = build_graph(model=scripted_model([GOOD]), sandbox="local", checkpointer=saver)
        out: Any = graph.invoke({"task": TASK, "tests": TESTS}, {"configurable": {"thread_id": "t"}})
    holder.wait()
    holder.stdout.close()
    assert out["status"] == "passed"
