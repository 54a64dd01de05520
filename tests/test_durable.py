"""Human approval, durable SQLite runs, resume after a kill, and live streaming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from codeloop import build_graph, scripted_model
from codeloop.sandboxes import LocalSandbox

from .conftest import fenced

ROOT = Path(__file__).resolve().parent.parent
TASK = "Write add(a, b)."
TESTS = [{"call": "add(2, 3)", "expected": 5}]
GOOD = fenced("def add(a, b):\n    return a + b")
BAD = fenced("def add(a, b):\n    return a - b")


def approval_graph(replies: list[str], sandbox: LocalSandbox) -> Any:
    return build_graph(model=scripted_model(replies), sandbox=sandbox, approval=True, checkpointer=InMemorySaver())


def test_approval_pauses_before_running_and_resumes(local_sandbox: LocalSandbox) -> None:
    graph = approval_graph([GOOD], local_sandbox)
    config = {"configurable": {"thread_id": "a"}}
    graph.invoke({"task": TASK, "tests": TESTS}, config)
    snapshot = graph.get_state(config)
    assert snapshot.next == ("approve",)
    request = snapshot.tasks[0].interrupts[0].value
    assert "return a + b" in request["code"] and request["validation"]["valid"] is True
    assert "execution" not in snapshot.values or snapshot.values["execution"] is None  # nothing ran yet
    out = graph.invoke(Command(resume={"approved": True}), config)
    assert out["status"] == "passed"


def test_a_rejection_reason_goes_to_the_fix_node(local_sandbox: LocalSandbox) -> None:
    graph = approval_graph([BAD, GOOD], local_sandbox)
    config = {"configurable": {"thread_id": "b"}}
    graph.invoke({"task": TASK, "tests": TESTS}, config)
    graph.invoke(Command(resume={"approved": False, "reason": "that subtracts"}), config)
    out = graph.invoke(Command(resume={"approved": True}), config)
    assert out["status"] == "passed" and out["attempts"] == 2
    assert out["history"][0]["stage"] == "approve"
    assert "that subtracts" in out["history"][0]["feedback"]


def test_edited_code_is_what_runs(local_sandbox: LocalSandbox) -> None:
    graph = approval_graph([BAD], local_sandbox)
    config = {"configurable": {"thread_id": "c"}}
    graph.invoke({"task": TASK, "tests": TESTS}, config)
    out = graph.invoke(Command(resume={"approved": True, "code": "def add(a, b):\n    return b + a\n"}), config)
    assert out["status"] == "passed" and out["code"] == "def add(a, b):\n    return b + a\n"


def test_a_malformed_answer_is_asked_again_with_the_reason(local_sandbox: LocalSandbox) -> None:
    graph = approval_graph([GOOD], local_sandbox)
    config = {"configurable": {"thread_id": "d"}}
    graph.invoke({"task": TASK, "tests": TESTS}, config)
    graph.invoke(Command(resume="sure"), config)
    snapshot = graph.get_state(config)
    assert snapshot.next == ("approve",)
    assert "unexpected answer 'sure'" in snapshot.tasks[0].interrupts[0].value["error"]
    out = graph.invoke(Command(resume={"approved": True}), config)
    assert out["status"] == "passed"


def test_streaming_yields_one_update_per_node(local_sandbox: LocalSandbox) -> None:
    graph = build_graph(model=scripted_model([BAD, GOOD]), sandbox=local_sandbox)
    nodes = [next(iter(chunk)) for chunk in graph.stream({"task": TASK, "tests": TESTS}, stream_mode="updates")]
    assert nodes == ["prepare", "generate", "validate", "execute", "test", "fix", "validate", "execute", "test",
                     "finalize"]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([sys.executable, "-m", "codeloop", *args], capture_output=True, text=True, input=stdin,
                          env=env, cwd=ROOT, timeout=120, check=False)


def test_cli_approval_on_the_terminal(tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([BAD, GOOD]))
    proc = cli("solve", TASK, "--test", "add(2, 3) == 5", "--model", f"scripted:{replies}", "--approval", "--json",
               stdin="n\nit subtracts\ny\n")
    assert proc.returncode == 0, proc.stderr
    final = json.loads(proc.stdout)
    assert final["status"] == "passed" and "it subtracts" in final["history"][0]["feedback"]


def test_a_killed_run_resumes_from_sqlite_with_the_same_result(tmp_path: Path) -> None:
    slow_bad = fenced("import time\ntime.sleep(4)\n\ndef add(a, b):\n    return a - b")
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([slow_bad, GOOD]))
    common = ["--test", "add(2, 3) == 5", "--model", f"scripted:{replies}", "--timeout", "30"]

    reference = cli("solve", TASK, *common, "--json")
    assert reference.returncode == 0, reference.stderr
    expected = json.loads(reference.stdout)

    db = tmp_path / "runs.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.Popen([sys.executable, "-m", "codeloop", "solve", TASK, *common, "--thread-id", "t1",
                             "--db", str(db)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env, cwd=ROOT, start_new_session=True)
    assert proc.stderr is not None
    for line in proc.stderr:  # the execute node is now sleeping inside the sandbox
        if "validate" in line:
            break
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()

    listed = cli("history", "t1", "--db", str(db))
    assert listed.returncode == 0 and "in progress" in listed.stdout

    resumed = cli("solve", "--resume", "t1", "--db", str(db), *common[2:], "--json")
    assert resumed.returncode == 0, resumed.stderr
    got = json.loads(resumed.stdout)
    for key in ("status", "code", "attempts", "output"):
        assert got[key] == expected[key], key
    timeless = [{k: v for k, v in r.items() if k != "duration_s"} for r in got["test_results"]]
    assert timeless == [{k: v for k, v in r.items() if k != "duration_s"} for r in expected["test_results"]]
    assert [h["stage"] for h in got["history"]] == [h["stage"] for h in expected["history"]]

    listed = cli("history", "t1", "--db", str(db))
    assert listed.returncode == 0 and "passed" in listed.stdout


def test_resume_of_an_unknown_thread_is_a_clear_error(tmp_path: Path) -> None:
    proc = cli("solve", "--resume", "nope", "--db", str(tmp_path / "x.sqlite"), "--model", "scripted:examples/add.replies.yaml")
    assert proc.returncode == 1 and "no saved run 'nope'" in proc.stderr
