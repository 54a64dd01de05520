"""The seed's use cases as one-call features: solve, analyze, compute, transform, execution log."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codeloop import ConfigError, analyze, compute, scripted_model, solve, transform

from .conftest import PromptAwareModel, fenced

ROOT = Path(__file__).resolve().parent.parent
SIEVE = """
limit = 10**6
sieve = bytearray([1]) * limit
sieve[0:2] = b"\\x00\\x00"
for i in range(2, int(limit ** 0.5) + 1):
    if sieve[i]:
        sieve[i * i :: i] = bytearray(len(range(i * i, limit, i)))
print(sum(i for i in range(limit) if sieve[i]))
"""


def test_solve_renders_problem_solution_result() -> None:
    result = solve("Print the sum of 1..100.", model=scripted_model([fenced("print(sum(range(1, 101)))")]),
                   generated_tests=False)
    assert result.passed and result.answer == "5050" and result.attempts == 1
    text = str(result)
    assert text.startswith("Problem: Print the sum of 1..100.") and "Solution:\n```python" in text
    assert "Result: 5050" in text
    assert "## Result" in result.to_markdown()


def test_compute_prints_an_exact_answer() -> None:
    result = compute("sum of primes below 10**6", model=scripted_model([fenced(SIEVE)]))
    assert result.passed
    assert result.answer == "37550402023"
    assert "sieve" in result.code


def sales_csv(path: Path, rows: int) -> int:
    total = 0
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["city", "amount"])
        for i in range(rows):
            amount = i % 97
            city = ("Paris", "Lyon", "Nice")[i % 3]
            total += amount if city == "Paris" else 0
            writer.writerow([city, amount])
    return total


STREAMING_SUM = """
import csv
total = 0
with open("{path}", newline="") as fh:
    for row in csv.DictReader(fh):
        if row["city"] == "Paris":
            total += int(row["amount"])
print(total)
"""


def test_analyze_a_csv_the_prompt_never_holds(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    expected = sales_csv(data, 5000)
    fake = PromptAwareModel([fenced(STREAMING_SUM)])
    result = analyze(data, "What is the total amount for Paris?", model=fake.model())
    assert result.passed, result.reason
    assert result.answer == str(expected)
    prompt = fake.prompts[0]
    assert "city (text), amount (int)" in prompt
    assert "Paris,0" in prompt and "Nice,4999" not in prompt  # a sample, not the data
    assert len(prompt) < 3000


def test_analyze_a_list_of_dicts() -> None:
    rows = [{"name": "a", "score": 3}, {"name": "b", "score": 5}]
    program = "import json\nrows = [json.loads(l) for l in open('{path}')]\nprint(max(rows, key=lambda r: r['score'])['name'])"
    fake = PromptAwareModel([fenced(program)])
    assert analyze(rows, "Who scored highest?", model=fake.model()).answer == "b"
    assert "name (str), score (int)" in fake.prompts[0]


@pytest.mark.slow
def test_analyze_a_100_mb_csv(tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    expected = sales_csv(data, 3_300_000)
    assert data.stat().st_size > 20 * 1024 * 1024
    while data.stat().st_size < 100 * 1024 * 1024:  # pad with rows that do not change the answer
        with data.open("a") as fh:
            fh.write("Lyon,1\n" * 2_000_000)
    fake = PromptAwareModel([fenced(STREAMING_SUM)])
    result = analyze(data, "Total amount for Paris?", model=fake.model(), timeout_s=120)
    assert result.passed, result.reason
    assert result.answer == str(expected)
    assert len(fake.prompts[0]) < 3000


def test_bad_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no data file"):
        analyze(tmp_path / "missing.csv", "q", model=scripted_model(["x"]))
    with pytest.raises(ConfigError, match="list of dicts"):
        analyze(42, "q", model=scripted_model(["x"]))
    with pytest.raises(ConfigError, match="cannot be given a data file"):
        analyze([{"a": 1}], "q", model=scripted_model(["x"]), sandbox="restricted")


ORIGINAL = """
def total_even(items):
    result = 0
    for i in range(len(items)):
        if items[i] % 2 == 0:
            result = result + items[i]
    return result
"""


def test_transform_that_breaks_behaviour_goes_back_to_fix() -> None:
    broken = fenced("def total_even(items):\n    return sum(x for x in items if x % 2)")
    good = fenced("def total_even(items):\n    return sum(x for x in items if x % 2 == 0)")
    result = transform(ORIGINAL, "Make it more Pythonic", model=scripted_model([broken, good]))
    assert result.passed and result.attempts == 2
    assert "the original gave" in result.history[0]["feedback"]
    assert result.code == "def total_even(items):\n    return sum(x for x in items if x % 2 == 0)"


def test_transform_a_script_compares_printed_output() -> None:
    original = "items = ['a', 'b']\nfor i in range(len(items)):\n    print(items[i])\n"
    reordered = fenced("items = ['a', 'b']\nfor item in reversed(items):\n    print(item)")
    pythonic = fenced("items = ['a', 'b']\nfor item in items:\n    print(item)")
    result = transform(original, "Make it more Pythonic", model=scripted_model([reordered, pythonic]))
    assert result.passed and result.attempts == 2
    assert "the program printed" in result.history[0]["feedback"]


def test_transform_with_given_tests() -> None:
    good = fenced("def total_even(items):\n    return sum(x for x in items if x % 2 == 0)")
    result = transform(ORIGINAL, "shorter", [{"call": "total_even([1, 2, 4])", "expected": 6}],
                       model=scripted_model([good]))
    assert result.passed and result.test_results[0]["name"] == "total_even([1, 2, 4]) == 6"


def test_every_sandbox_run_is_logged(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    replies = [fenced("def add(a, b):\n    return a - b"), fenced("def add(a, b):\n    return a + b")]
    result = solve("Write add.", [{"call": "add(1, 2)", "expected": 3}], model=scripted_model(replies), log=log)
    assert result.passed
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(entries) == 4  # execute + test, twice
    for entry in entries:
        assert set(entry) >= {"time", "backend", "code_sha256", "duration_s", "exit_code", "resources"}
        assert entry["backend"] == "local" and len(entry["code_sha256"]) == 64
    assert entries[0]["resources"]["max_rss_kb"] > 0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([sys.executable, "-m", "codeloop", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, check=False)


def test_cli_compute_transform_and_log(tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([fenced("from fractions import Fraction\nprint(sum(Fraction(1, n) for n in range(1, 11)))")]))
    log = tmp_path / "log.jsonl"
    proc = cli("compute", "the 10th harmonic number as a fraction", "--model", f"scripted:{replies}", "--log", str(log))
    assert proc.returncode == 0, proc.stderr
    assert "Result: 7381/2520" in proc.stdout
    assert len(log.read_text().splitlines()) == 1

    source = tmp_path / "prog.py"
    source.write_text(ORIGINAL)
    replies.write_text(json.dumps([fenced("def total_even(items):\n    return sum(x for x in items if x % 2 == 0)")]))
    proc = cli("transform", str(source), "make it more Pythonic", "--model", f"scripted:{replies}", "--write")
    assert proc.returncode == 0, proc.stderr
    assert "sum(x for x in items" in source.read_text()


def test_cli_analyze(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    expected = sales_csv(data, 300)
    replies = tmp_path / "r.json"
    program = STREAMING_SUM.replace("{path}", "/data/data.csv")
    replies.write_text(json.dumps([fenced(program)]))
    proc = cli("analyze", str(data), "Total for Paris?", "--model", f"scripted:{replies}", "--markdown")
    assert proc.returncode == 0, proc.stderr
    assert f"\n{expected}\n" in proc.stdout and "## Problem" in proc.stdout
