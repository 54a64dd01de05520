"""The real `codeloop` command, run as a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "add.replies.yaml"


def codeloop(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_MODEL"))}
    return subprocess.run([sys.executable, "-m", "codeloop", *args], capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})}, input=stdin, cwd=ROOT, check=False)


def test_solve_streams_progress_and_passes_after_a_fix() -> None:
    proc = codeloop("solve", "Write add(a, b) that returns the sum of two numbers.", "--test", "add(2, 3) == 5",
                    "--test", "add(-1, 1) == 0", "--model", f"scripted:{DEMO}")
    assert proc.returncode == 0, proc.stderr
    for node in ("generate", "validate", "execute", "test", "fix", "finalize"):
        assert node in proc.stderr
    assert "0/2 tests passed" in proc.stderr and "2/2 tests passed" in proc.stderr
    assert "return a + b" in proc.stdout
    assert "passed after 2 attempt(s)" in proc.stdout


def test_solve_json_and_exit_1_when_failed(tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps(["```python\ndef add(a, b):\n    return 0\n```"] * 2))
    tests = tmp_path / "tests.yaml"
    tests.write_text("- call: add(2, 3)\n  expected: 5\n")
    proc = codeloop("solve", "Write add.", "--tests-file", str(tests), "--model", f"scripted:{replies}",
                    "--max-attempts", "2", "--json")
    assert proc.returncode == 1
    final = json.loads(proc.stdout)
    assert final["status"] == "failed" and final["attempts"] == 2
    assert final["reason"].startswith("max attempts reached")


def test_solve_without_a_model_says_what_to_set() -> None:
    proc = codeloop("solve", "anything")
    assert proc.returncode == 1
    assert "OPENAI_BASE_URL" in proc.stderr and "OPENAI_API_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "t", "--test", "add(2,", "--model", f"scripted:{DEMO}"], "not a Python expression"),
        (["solve", "t", "--max-attempts", "0", "--model", f"scripted:{DEMO}"], "max-attempts"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    proc = codeloop(*args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    missing = codeloop("solve", "t", "--model", f"scripted:{tmp_path / 'nope.json'}")
    assert missing.returncode == 1 and "cannot read the scripted replies file" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = codeloop("solve", "t", "--tests-file", str(bad), "--model", f"scripted:{DEMO}")
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr


def test_sandbox_run_passes_output_and_exit_code(tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_text("import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\nsys.exit(7)\n")
    proc = codeloop("sandbox", "run", str(program))
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "to stdout\n", "to stderr\n")


def test_sandbox_run_timeout_exits_124(tmp_path: Path) -> None:
    program = tmp_path / "spin.py"
    program.write_text("while True:\n    pass\n")
    proc = codeloop("sandbox", "run", "--timeout", "1", str(program))
    assert proc.returncode == 124
    assert "timeout" in proc.stderr


def test_sandbox_run_bash_and_stdin_program() -> None:
    proc = codeloop("sandbox", "run", "--language", "bash", "-", stdin="echo from-bash\n")
    assert (proc.returncode, proc.stdout) == (0, "from-bash\n")


def test_sandbox_run_missing_file() -> None:
    proc = codeloop("sandbox", "run", "/no/such/file.py")
    assert proc.returncode == 1 and "cannot read" in proc.stderr


def test_graph_prints_mermaid() -> None:
    proc = codeloop("graph")
    assert proc.returncode == 0
    assert "graph TD" in proc.stdout and "test -.-> fix" in proc.stdout


@pytest.mark.parametrize("backend", ["local", "restricted", pytest.param("docker", marks=pytest.mark.docker)])
def test_every_backend_is_selectable_by_name(backend: str, tmp_path: Path) -> None:
    if backend == "docker":
        from codeloop.sandboxes.docker import docker_available

        from .conftest import require_docker

        why = docker_available()
        if why:
            if require_docker():
                pytest.fail(why)
            pytest.skip(why)
    solved = codeloop("solve", "Write add(a, b).", "--test", "add(2, 3) == 5", "--model", f"scripted:{DEMO}",
                      "--sandbox", backend)
    assert solved.returncode == 0, solved.stderr
    graded = codeloop("eval", "--dataset", str(ROOT / "evals" / "basic.jsonl"), "--model", "reference", "--limit", "2",
                      "--sandbox", backend, "--out", str(tmp_path / "run"))
    assert graded.returncode == 0, graded.stderr
    assert "pass@1 1.000" in graded.stdout
    if backend != "restricted":
        program = tmp_path / "p.sh"
        program.write_text("echo from-$0\n")
        ran = codeloop("sandbox", "run", "--backend", backend, str(program))
        assert (ran.returncode, ran.stdout) == (0, "from-main.sh\n")
