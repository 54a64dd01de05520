"""Story tests for every route of the loop, on the real local sandbox with a scripted model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codeloop import ConfigError, build_graph, scripted_model
from codeloop.graph import route_after_execute, route_after_generate, route_after_test, route_after_validate

from .conftest import fenced

ADD_TESTS = [{"call": "add(2, 3)", "expected": 5}, {"code": "assert add(-1, 1) == 0"}]
GOOD = fenced("def add(a, b):\n    return a + b")


def stages(out: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(h["source"], h["stage"], h["passed"]) for h in out["history"]]


def test_passes_first_time(run_loop: Any) -> None:
    out = run_loop([GOOD], tests=ADD_TESTS)
    assert out["status"] == "passed"
    assert out["attempts"] == 1
    assert stages(out) == [("generate", "test", True)]
    assert [r["passed"] for r in out["test_results"]] == [True, True]
    assert out["reason"] == ""
    json.dumps(out)  # everything in the state is JSON-serialisable


def test_syntax_error_then_fixed(run_loop: Any) -> None:
    out = run_loop([fenced("def add(a, b)\n    return a + b"), GOOD], tests=ADD_TESTS)
    assert out["status"] == "passed"
    assert out["attempts"] == 2
    assert stages(out) == [("generate", "validate", False), ("fix", "test", True)]
    feedback = out["history"][0]["feedback"]
    assert "SyntaxError at line 1" in feedback and "def add(a, b)" in feedback


def test_runtime_error_then_fixed(run_loop: Any) -> None:
    broken = fenced("def add(a, b):\n    return a + b\n\nprint(add(1, 'x'))")
    out = run_loop([broken, GOOD], tests=ADD_TESTS)
    assert out["status"] == "passed"
    assert stages(out) == [("generate", "execute", False), ("fix", "test", True)]
    error = out["history"][0]["error"]
    assert error["type"] == "TypeError"
    assert error["line"] == 2  # the user's line inside add(), not the harness's
    assert "main.py" in error["traceback"] and "_forkserver" not in error["traceback"]


def test_failing_test_then_fixed(run_loop: Any) -> None:
    out = run_loop([fenced("def add(a, b):\n    return a - b"), GOOD], tests=ADD_TESTS)
    assert out["status"] == "passed"
    assert stages(out) == [("generate", "test", False), ("fix", "test", True)]
    assert "expected 5, got -1" in out["history"][0]["feedback"]
    assert out["history"][0]["tests_failed"] == ["add(2, 3) == 5", "assert add(-1, 1) == 0"]


def test_reply_without_code_then_fixed(run_loop: Any) -> None:
    out = run_loop(["I'm sorry, but I can't help with that.", GOOD], tests=ADD_TESTS)
    assert out["status"] == "passed"
    assert stages(out) == [("generate", "generate", False), ("fix", "test", True)]
    assert "contained no Python code" in out["history"][0]["feedback"]


def test_never_fixed_stops_at_max_attempts_with_the_best_code(run_loop: Any) -> None:
    half = fenced("def add(a, b):\n    return 5")  # passes add(2, 3) == 5 only
    replies = [fenced("def add(a, b):\n    return a - b"), half, fenced("def add(a, b)\n"), "no code here"]
    out = run_loop(replies, tests=ADD_TESTS, max_attempts=4)
    assert out["status"] == "failed"
    assert out["attempts"] == 4
    assert out["reason"].startswith("max attempts reached: 4 of 4 failed")
    assert out["code"] == "def add(a, b):\n    return 5"  # the best attempt, not the last
    assert [r["passed"] for r in out["test_results"]] == [True, False]
    assert len(out["history"]) == 4


def test_max_attempts_from_the_input_overrides_the_default(run_loop: Any) -> None:
    bad = fenced("def add(a, b):\n    return 0")
    out = dict(build_graph(model=scripted_model([bad, bad, bad]), max_attempts=3).invoke(
        {"task": "Write add(a, b).", "tests": ADD_TESTS, "max_attempts": 1}))
    assert out["attempts"] == 1 and out["status"] == "failed"


def test_no_tests_passes_when_execution_succeeds(run_loop: Any) -> None:
    out = run_loop([fenced("print(sum(range(1, 101)))")], task="Print the sum of 1..100.", generated_tests=False)
    assert out["status"] == "passed"
    assert out["output"] == "5050\n"
    assert "Result: 5050" in out["answer"]


def test_a_swapped_node_is_used(run_loop: Any) -> None:
    seen: list[str] = []

    def my_validate(state: dict[str, Any]) -> dict[str, Any]:
        seen.append(state["code"])
        ok = "return a - b" not in state["code"]
        return {"stage": "validate", "ok": ok, "feedback": "" if ok else "custom rule: no subtraction"}

    out = run_loop([fenced("def add(a, b):\n    return a - b"), GOOD], tests=ADD_TESTS, nodes={"validate": my_validate})
    assert out["status"] == "passed"
    assert len(seen) == 2
    assert out["history"][0]["feedback"] == "custom rule: no subtraction"
    assert stages(out)[0] == ("generate", "validate", False)


def test_routers_are_pure_functions_of_the_state() -> None:
    assert route_after_generate({"task": "t", "ok": True, "history": []}) == "validate"  # type: ignore[typeddict-item]
    assert route_after_validate({"ok": False, "attempts": 1, "max_attempts": 2}) == "fix"  # type: ignore[typeddict-item]
    assert route_after_validate({"ok": False, "attempts": 2, "max_attempts": 2}) == "finalize"  # type: ignore[typeddict-item]
    assert route_after_execute({"ok": True, "tests": []}) == "finalize"  # type: ignore[typeddict-item]
    assert route_after_execute({"ok": True, "tests": [{"code": "pass"}]}) == "test"  # type: ignore[typeddict-item]
    assert route_after_test({"ok": True}) == "finalize"  # type: ignore[typeddict-item]


def test_graph_draws_the_real_branches() -> None:
    graph = build_graph(model=scripted_model(["x"]), sandbox="local")
    edges = {(e.source, e.target) for e in graph.get_graph().edges}
    for edge in [("validate", "fix"), ("execute", "fix"), ("test", "fix"), ("fix", "validate"), ("test", "finalize")]:
        assert edge in edges


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"task": ""}, "non-empty 'task'"),
        ({"task": "t", "tests": [{"call": "f(1)"}]}, "no 'expected'"),
        ({"task": "t", "tests": [{"call": "f()", "expected": {1, 2}}]}, "JSON-serialisable"),
        ({"task": "t", "tests": "assert f()"}, "must be a list"),
        ({"task": "t", "max_attempts": 0}, "max_attempts must be"),
    ],
)
def test_bad_input_gets_a_clear_error(inputs: dict[str, Any], message: str) -> None:
    graph = build_graph(model=scripted_model([GOOD]), sandbox="local")
    with pytest.raises(ConfigError, match=message):
        graph.invoke(inputs)


def test_bad_builder_options_get_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown node name"):
        build_graph(model=scripted_model([GOOD]), nodes={"compile": lambda s: {}})
    with pytest.raises(ConfigError, match="max_attempts"):
        build_graph(model=scripted_model([GOOD]), max_attempts=-1)
    with pytest.raises(ConfigError, match="unknown sandbox backend"):
        build_graph(model=scripted_model([GOOD]), sandbox="vm")
