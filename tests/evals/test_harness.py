"""The eval harness end to end: datasets, the loop, hidden-test grading, results, reports, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codeloop.errors import ConfigError
from codeloop.evals.datasets import examples_from_docstring, load_dataset, load_humaneval

from ..openai_stub import serve

ROOT = Path(__file__).resolve().parents[2]
BASIC = ROOT / "evals" / "basic.jsonl"
SECRET = "assert add(40, 2) == 42  # HIDDEN-MARKER"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([sys.executable, "-m", "codeloop", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300, check=False)


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def test_humaneval_loads_with_visible_and_hidden_tests_apart() -> None:
    tasks = load_humaneval()
    assert len(tasks) == 164
    first = tasks[0]
    assert first.task_id == "HumanEval/0" and first.entry_point == "has_close_elements"
    assert [t["name"] for t in first.visible_tests] == [
        "has_close_elements([1.0, 2.0, 3.0], 0.5) == False",
        "has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True",
    ]
    assert first.hidden_tests[0]["code"].rstrip().endswith("check(has_close_elements)")
    assert sum(1 for t in tasks if t.visible_tests) > 90


def test_docstring_examples_in_other_notations() -> None:
    prompt = 'def f(x):\n    """\n    f(2) => 4\n    f(3) ➞ 9\n    f(n) == n * n for any n\n    f(1) == true\n    """\n'
    assert [t["name"] for t in examples_from_docstring(prompt, "f")] == ["f(2) == 4", "f(3) == 9"]


def test_bad_dataset_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no dataset"):
        load_dataset(str(tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "x", "prompt": "p"}\n')
    with pytest.raises(ConfigError, match="missing"):
        load_dataset(str(bad))
    bad.write_text("not json\n")
    with pytest.raises(ConfigError, match="line 1"):
        load_dataset(str(bad))


def test_mbpp_format(tmp_path: Path) -> None:
    mbpp = tmp_path / "mbpp.jsonl"
    mbpp.write_text(json.dumps({"task_id": 2, "text": "Write double(x).", "code": "def double(x):\n    return 2 * x",
                                "test_list": ["assert double(2) == 4", "assert double(0) == 0"],
                                "test_setup_code": "", "challenge_test_list": []}) + "\n")
    (task,) = load_dataset(str(mbpp))
    assert task.task_id == "MBPP/2" and task.entry_point == "double"
    assert task.visible_tests[0]["code"] == "assert double(2) == 4"
    assert "assert double(0) == 0" in task.hidden_tests[0]["code"]


def test_a_scripted_run_measures_the_repair_loop(tmp_path: Path) -> None:
    replies = {
        "basic/add": [fenced("def add(a, b):\n    return a + b")],
        "basic/fib": [fenced("def fib(n):\n    return n"), fenced("def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
                                                                  "        a, b = b, a + b\n    return a")],
        "basic/median": [fenced("def median(xs):\n    return sorted(xs)[len(xs) // 2]")] * 2,
    }
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(replies))
    out = tmp_path / "run"
    proc = cli("eval", "--dataset", str(BASIC), "--model", f"scripted:{script}", "--tasks",
               "basic/add,basic/fib,basic/median", "--max-attempts", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = {r["task_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert rows["basic/add"]["passed"] and rows["basic/add"]["passed_first_attempt"]
    assert rows["basic/fib"]["passed"] and not rows["basic/fib"]["passed_first_attempt"]
    assert rows["basic/fib"]["attempts"] == 2
    # median([3,1,2]) == 2 passes the visible test, but the hidden even-length case fails:
    assert rows["basic/median"]["loop_status"] == "passed" and not rows["basic/median"]["passed"]
    assert rows["basic/median"]["category"] == "wrong_answer"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"] == 3 and summary["passed"] == 2
    assert summary["pass@1"] == pytest.approx(2 / 3)
    assert summary["pass@1_first_attempt"] == pytest.approx(1 / 3)
    assert summary["repair_rate"] == pytest.approx(1 / 2)
    assert summary["attempts_histogram"] == {"1": 2, "2": 1}
    assert summary["failure_categories"] == {"wrong_answer": 1}
    html = (out / "report.html").read_text()
    assert "<svg" in html and "<script" not in html and "http" not in html.replace("http-equiv", "")
    assert "| basic/fib | 0 | yes | no | 2 |" in (out / "report.md").read_text()


def test_resume_continues_and_refuses_to_mix_runs(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli("eval", "--dataset", str(BASIC), "--model", "reference", "--limit", "2", "--out", str(out)).returncode == 0
    again = cli("eval", "--dataset", str(BASIC), "--model", "reference", "--limit", "3", "--out", str(out))
    assert again.returncode == 1 and "--resume" in again.stderr
    resumed = cli("eval", "--dataset", str(BASIC), "--model", "reference", "--limit", "3", "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["task_id"] for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 3
    other = cli("eval", "--dataset", str(BASIC), "--model", "reference", "--max-attempts", "2", "--out", str(out),
                "--resume")
    assert other.returncode == 1 and "different run" in other.stderr


def test_hidden_tests_never_reach_the_model_unless_asked(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(json.dumps({"task_id": "t", "prompt": "Write add(a, b).", "entry_point": "add",
                                 "visible_tests": [{"call": "add(1, 1)", "expected": 2}],
                                 "hidden_tests": [{"code": SECRET}]}) + "\n")
    bad, good = fenced("def add(a, b):\n    return 2"), fenced("def add(a, b):\n    return a + b")
    for feedback, should_leak in (("visible", False), ("hidden", True)):
        with serve([{"reply": bad}, {"reply": good}]) as stub:
            env_out = tmp_path / feedback
            env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
            env["OPENAI_BASE_URL"] = stub.base_url
            proc = subprocess.run([sys.executable, "-m", "codeloop", "eval", "--dataset", str(suite), "--model",
                                   "stub-model", "--feedback", feedback, "--out", str(env_out)],
                                  capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
            assert proc.returncode == 0, proc.stderr
            sent = json.dumps(stub.requests)
        assert ("HIDDEN-MARKER" in sent) is should_leak, feedback
        row = json.loads((env_out / "results.jsonl").read_text())
        assert row["feedback"] == feedback


def test_grading_a_samples_file_and_comparing_runs(tmp_path: Path) -> None:
    tasks = load_humaneval()[:3]
    samples = tmp_path / "samples.jsonl"
    lines = [{"task_id": t.task_id, "completion": t.canonical_solution} for t in tasks]
    lines.append({"task_id": tasks[0].task_id, "completion": "    return None\n"})
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "graded"
    proc = cli("eval", "--dataset", "humaneval", "--samples-file", str(samples), "--tasks",
               ",".join(t.task_id for t in tasks), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == 4 and summary["passed_samples"] == 3
    assert summary["pass@k"]["1"] == pytest.approx((0.5 + 1 + 1) / 3)
    compared = cli("eval", "compare", str(out), str(ROOT / "evals" / "baselines" / "basic-reference"))
    assert compared.returncode == 0 and "pass@1" in compared.stdout


def test_bad_eval_options() -> None:
    assert cli("eval", "--dataset", "humaneval").returncode == 2
    assert cli("eval", "--dataset", "humaneval", "--model", "reference", "--feedback", "all").returncode == 2
    unknown = cli("eval", "--dataset", str(BASIC), "--model", "reference", "--tasks", "nope", "--out", "/tmp/x")
    assert unknown.returncode == 1 and "unknown task id" in unknown.stderr




def test_generated_tests_on_and_off_compared_in_one_run(tmp_path: Path) -> None:
    good = fenced("def add(a, b):\n    return a + b")
    script = tmp_path / "replies.json"
    # The first reply serves either mode: as code (off) it runs cleanly; as tests (on) its assert is kept.
    first = fenced("def add(a, b):\n    return a + b\n\nassert add(1, 2) == 3")
    script.write_text(json.dumps({"basic/add": [first, good]}))
    out = tmp_path / "both"
    proc = cli("eval", "--dataset", str(BASIC), "--model", f"scripted:{script}", "--tasks", "basic/add",
               "--feedback", "none", "--generated-tests", "both", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["generated_tests"] for r in rows) == [False, True]
    summary = json.loads((out / "summary.json").read_text())
    on, off = summary["by_generated_tests"]["on"], summary["by_generated_tests"]["off"]
    assert on["model_calls"] == off["model_calls"] + 1 and on["pass@1"] == off["pass@1"] == 1.0
    assert "Generated tests: off vs on" in (out / "report.md").read_text()
