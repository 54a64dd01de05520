"""Tests the loop writes itself, and fixes that never undo progress (scripted model, real sandbox)."""

from __future__ import annotations

from typing import Any

from codeloop import build_graph, scripted_model
from codeloop.nodes.gen_tests import parse_generated
from codeloop.sandboxes import LocalSandbox

from .conftest import fenced

TASK = "Write add(a, b) that returns the sum of two numbers."
GOOD = fenced("def add(a, b):\n    return a + b")
TESTS_REPLY = fenced("assert add(2, 3) == 5\nassert add(-1, 1) == 0\nassert add(2, 2) == 5")  # the last is wrong


def run(replies: list[str], sandbox: LocalSandbox, inputs: dict[str, Any], **options: Any) -> dict[str, Any]:
    graph = build_graph(model=scripted_model(replies), sandbox=sandbox, **options)
    return dict(graph.invoke(inputs))


def test_generated_tests_are_parsed_validated_and_marked() -> None:
    reply = fenced("assert f(1) == 2\nimport os\nassert __import__('os').system('x') == 0\nassert f(1) == 2")
    tests, refused = parse_generated(reply, "standard")
    assert tests == [{"code": "assert f(1) == 2", "name": "f(1) == 2", "provenance": "generated"}]
    assert any("not an assert" in r for r in refused) and any("dynamic import" in r for r in refused)
    assert parse_generated("no code at all", "standard") == ([], ["the reply held no test code"])


def test_on_by_default_without_given_tests(local_sandbox: LocalSandbox) -> None:
    out = run([fenced("assert add(2, 3) == 5"), GOOD], local_sandbox, {"task": TASK})
    assert out["status"] == "passed"
    assert [t["provenance"] for t in out["tests"]] == ["generated"]
    assert out["usage"]["calls"] == 2  # one call for the tests, one for the code
    assert out["attempts"] == 1  # writing tests is not an attempt


def test_off_by_default_with_given_tests(local_sandbox: LocalSandbox) -> None:
    out = run([GOOD], local_sandbox, {"task": TASK, "tests": [{"call": "add(1, 1)", "expected": 2}]})
    assert out["status"] == "passed" and out["usage"]["calls"] == 1


def test_a_wrong_generated_test_is_detected_and_dropped(local_sandbox: LocalSandbox) -> None:
    fix_reply = GOOD + "\nThe code is right; the test contradicts the task.\nWRONG TEST: add(2, 2) == 5\n"
    given = [{"call": "add(10, 1)", "expected": 11}]
    out = run([TESTS_REPLY, GOOD, fix_reply], local_sandbox, {"task": TASK, "tests": given, "generated_tests": True})
    assert out["status"] == "passed" and out["attempts"] == 2
    feedback = out["history"][0]["feedback"]
    assert "add(2, 2) == 5 (generated test)" in feedback
    assert out["history"][1]["dropped_tests"] == ["add(2, 2) == 5"]
    names = [t["name"] for t in out["tests"]]
    assert "add(2, 2) == 5" not in names and "add(10, 1) == 11" in names
    assert out["code"] == "def add(a, b):\n    return a + b"  # not bent to the wrong test


def test_given_tests_are_never_dropped(local_sandbox: LocalSandbox) -> None:
    bad_claim = fenced("def add(a, b):\n    return a - b") + "\nWRONG TEST: add(2, 3) == 5\n"
    out = run([fenced("def add(a, b):\n    return a - b"), bad_claim], local_sandbox,
              {"task": TASK, "tests": [{"call": "add(2, 3)", "expected": 5}]}, max_attempts=2)
    assert out["status"] == "failed"
    assert [t["name"] for t in out["tests"]] == ["add(2, 3) == 5"]
    assert out["history"][1]["dropped_tests"] == []


def test_a_fix_that_breaks_earlier_passing_tests_is_reported_and_the_better_version_wins(
    local_sandbox: LocalSandbox,
) -> None:
    tests = [{"call": "f(1)", "expected": 1}, {"call": "f(2)", "expected": 4}, {"call": "f(3)", "expected": 9}]
    v1 = fenced("def f(x):\n    return {1: 1, 2: 4}.get(x, 0)")  # passes f(1), f(2)
    v2 = fenced("def f(x):\n    return 9 if x == 3 else 0")     # passes f(3) only: f(1), f(2) regressed
    v3 = fenced("def f(x):\n    return -1")                      # passes nothing
    out = run([v1, v2, v3], local_sandbox, {"task": "Write f(x) returning x squared.", "tests": tests},
              max_attempts=3)
    assert out["status"] == "failed"
    history = out["history"]
    assert [h["tests_passed"] for h in history] == [["f(1) == 1", "f(2) == 4"], ["f(3) == 9"], []]
    assert history[1]["regressions"] == ["f(1) == 1", "f(2) == 4"]
    assert "REGRESSION" in history[1]["feedback"] and "f(1) == 1" in history[1]["feedback"]
    assert out["code"] == "def f(x):\n    return {1: 1, 2: 4}.get(x, 0)"  # the best version seen, not the last
    assert [r["passed"] for r in out["test_results"]] == [True, True, False]


def test_given_tests_outrank_generated_ones_when_choosing_the_best(local_sandbox: LocalSandbox) -> None:
    generated = fenced("assert g(0) == 0\nassert g(5) == 5\nassert g(6) == 6")
    given = [{"call": "g(1)", "expected": 2}]
    first = fenced("def g(x):\n    return x")        # all 3 generated pass, the given one fails
    second = fenced("def g(x):\n    return 2 * x")     # the given one passes, 2 generated fail
    out = run([generated, first, second], local_sandbox,
              {"task": "Write g.", "tests": given, "generated_tests": True}, max_attempts=2)
    assert out["status"] == "failed"
    assert out["code"] == "def g(x):\n    return 2 * x"
