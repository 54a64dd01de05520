"""Load and soak: many runs at once, and thousands in a row, leave nothing behind."""

from __future__ import annotations

import os
import resource
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from codeloop import build_graph, scripted_model
from codeloop.sandboxes import Sandbox
from codeloop.sandboxes.registry import make_sandbox

from ..conftest import fenced, require_docker

RUNS = 50


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def child_pids() -> set[int]:
    me = os.getpid()
    found = set()
    for task in os.listdir(f"/proc/{me}/task"):
        try:
            found |= {int(p) for p in Path(f"/proc/{me}/task/{task}/children").read_text().split()}
        except OSError:
            continue
    return found


def temp_entries() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("codeloop")}


def one_run(sandbox: Sandbox, k: int) -> dict[str, Any]:
    # Run k must produce add_k; the first reply is off by one, the fix is right.
    replies = [fenced(f"def add_k(x):\n    return x + {k} + 1"), fenced(f"def add_k(x):\n    return x + {k}")]
    graph = build_graph(model=scripted_model(replies), sandbox=sandbox, max_attempts=3)
    return dict(graph.invoke({"task": f"Write add_k(x) returning x + {k}.",
                              "tests": [{"call": "add_k(1)", "expected": 1 + k}]}))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_fifty_graph_runs_at_once(backend: str) -> None:
    if backend == "docker":
        from codeloop.sandboxes.docker import docker_available

        why = docker_available()
        if why:
            if require_docker():
                pytest.fail(why)
            pytest.skip(why)
    before_fds, before_children, before_tmp = open_fds(), child_pids(), temp_entries()
    sandbox = make_sandbox(backend)
    try:
        with ThreadPoolExecutor(max_workers=RUNS) as pool:
            outs = list(pool.map(lambda k: one_run(sandbox, k), range(RUNS)))
    finally:
        sandbox.close()
    for k, out in enumerate(outs):  # every run got its own, correct verdict
        assert out["status"] == "passed", (k, out.get("reason"))
        assert out["attempts"] == 2
        assert out["code"].endswith(f"return x + {k}")
    if backend == "docker":
        import docker

        client = docker.from_env()
        owner = getattr(sandbox, "_owner", "")
        left = client.api.containers(all=True, filters={"label": f"codeloop.sandbox.owner={owner}"})
        client.close()
        assert left == []
    assert child_pids() <= before_children  # no process left behind
    assert temp_entries() <= before_tmp
    assert open_fds() <= before_fds + 2  # + slack for the interpreter's own lazily opened files


@pytest.mark.slow
def test_soak_memory_and_fds_stay_flat() -> None:
    sandbox = make_sandbox("local")
    try:
        for _ in range(200):  # warm up: caches, the server, lazily imported modules
            sandbox.run("print(1)")
        fds = open_fds()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for i in range(2000):
            result = sandbox.run(f"print({i})")
            assert result.stdout == f"{i}\n"
        assert open_fds() == fds
        grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
        assert grown_kb < 20 * 1024, f"the host process grew by {grown_kb} KB over 2000 runs"
    finally:
        sandbox.close()
