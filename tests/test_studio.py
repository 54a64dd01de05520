"""The real `langgraph dev` server, driven by langgraph-sdk: the way Studio talks to codeloop.

The server runs on a free loopback port (never 2024, which something else may own), with
tracing and analytics off, and is stopped by its PID in every case.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import fenced, free_port

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_ENV = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_API_KEY": "",
}
TASK = "Write add(a, b)."
TESTS = [{"call": "add(2, 3)", "expected": 5}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    langgraph = Path(sys.executable).parent / "langgraph"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
    env.update(OFFLINE_ENV, CODELOOP_MAX_ATTEMPTS="3", CODELOOP_POLICY="standard")
    log_path = tmp_path_factory.mktemp("langgraph-dev") / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen([str(langgraph), "dev", "--port", str(port), "--host", "127.0.0.1", "--no-browser",
                             "--no-reload", "--config", str(ROOT / "langgraph.json")],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ok", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"langgraph dev did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def client(server: str) -> Iterator[Any]:
    from langgraph_sdk import get_sync_client

    sdk = get_sync_client(url=server)
    yield sdk
    sdk.close()


@pytest.fixture
def replies(tmp_path: Path) -> Any:
    def write(*texts: str) -> str:
        path = tmp_path / f"replies-{len(texts)}.json"
        path.write_text(json.dumps(list(texts)))
        return f"scripted:{path}"

    return write


def test_the_graph_is_served_with_its_context_form(client: Any) -> None:
    assistants = client.assistants.search(graph_id="codeloop")
    assert assistants
    schemas = client.assistants.get_schemas(assistants[0]["assistant_id"])
    fields = schemas["context_schema"]["properties"]
    for name in ("model", "sandbox", "max_attempts", "policy", "approval", "generated_tests"):
        assert fields[name]["description"]
    assert fields["max_attempts"]["default"] == 3  # defaults come from the server's environment
    assert fields["policy"]["default"] == "standard"


def test_a_run_streams_and_passes(client: Any, replies: Any) -> None:
    thread = client.threads.create()
    model = replies(fenced("def add(a, b):\n    return a - b"), fenced("def add(a, b):\n    return a + b"))
    nodes = []
    for part in client.runs.stream(thread["thread_id"], "codeloop", input={"task": TASK, "tests": TESTS},
                                   context={"model": model, "sandbox": "local"}, stream_mode="updates"):
        if part.event == "updates":
            nodes.extend(part.data)
        assert part.event != "error", part.data
    assert nodes[:5] == ["prepare", "generate", "validate", "execute", "test"] and "fix" in nodes
    state = client.threads.get_state(thread["thread_id"])
    assert state["values"]["status"] == "passed" and state["values"]["attempts"] == 2


def test_approval_interrupts_then_resumes(client: Any, replies: Any) -> None:
    thread = client.threads.create()
    context = {"model": replies(fenced("def add(a, b):\n    return a + b")), "approval": True}
    client.runs.wait(thread["thread_id"], "codeloop", input={"task": TASK, "tests": TESTS}, context=context)
    state = client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["approve"]
    interrupts = state["tasks"][0]["interrupts"]
    assert "return a + b" in interrupts[0]["value"]["code"]
    client.runs.wait(thread["thread_id"], "codeloop", command={"resume": {"approved": True}}, context=context)
    state = client.threads.get_state(thread["thread_id"])
    assert state["values"]["status"] == "passed"
    assert state["next"] == []


def test_a_run_without_a_model_fails_clearly(client: Any) -> None:
    thread = client.threads.create()
    run = client.runs.create(thread["thread_id"], "codeloop", input={"task": TASK})
    client.runs.join(thread["thread_id"], run["run_id"])
    run = client.runs.get(thread["thread_id"], run["run_id"])
    assert run["status"] == "error"
