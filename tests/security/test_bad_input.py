"""Garbage into every public entry point: a clear error or a clean 'failed', never a crash or a hang."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeloop import ConfigError, build_graph, scripted_model
from codeloop.nodes.extract import extract_code
from codeloop.nodes.validate import validate_code
from codeloop.sandboxes import ExecutionResult, LocalSandbox

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=400)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None)
def test_validation_and_extraction_never_crash(text: str) -> None:
    verdict = validate_code(text)
    assert isinstance(verdict.valid, bool) and all(isinstance(e, str) for e in verdict.errors)
    extracted = extract_code(text)
    assert extracted is None or isinstance(extracted, str)


@given(ANY_TEXT)
@SETTINGS
def test_the_sandbox_runs_any_text(local_sandbox: LocalSandbox, text: str) -> None:
    result = local_sandbox.run(text, timeout_s=2)
    assert isinstance(result, ExecutionResult)
    assert result.exit_code is not None or result.timed_out


@given(ANY_TEXT)
@SETTINGS
def test_the_graph_ends_cleanly_whatever_the_model_says(local_sandbox: LocalSandbox, reply: str) -> None:
    graph = build_graph(model=scripted_model([reply, "```python\n" + reply + "\n```"]), sandbox=local_sandbox,
                        max_attempts=2, timeout_s=2)
    out = graph.invoke({"task": "Write f(x).", "tests": [{"call": "f(1)", "expected": 2}]})
    assert out["status"] in ("passed", "failed")
    assert out["status"] == "passed" or out["reason"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 1\x00", "NUL byte"),
        ("x = 1\n" * 2_000_000, "limit is"),
        ("(" * 5000 + ")" * 5000, ""),
        ("-" * 100_000 + "1", ""),
        ("[" * 300 + "]" * 300, ""),
    ],
    ids=["nul", "10mb", "nested-parens", "deep-unary", "nested-lists"],
)
def test_pathological_code_is_rejected_with_a_reason(code: str, message: str) -> None:
    verdict = validate_code(code)
    assert not verdict.valid and verdict.errors
    assert message in verdict.errors[0]


def test_ten_megabytes_of_code_from_the_model_fails_cleanly(local_sandbox: LocalSandbox) -> None:
    huge = "```python\n" + "x = 1\n" * 2_000_000 + "```"
    out = build_graph(model=scripted_model([huge]), sandbox=local_sandbox, max_attempts=1,
                      generated_tests=False).invoke({"task": "t"})
    assert out["status"] == "failed" and "limit is" in out["history"][0]["feedback"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"task": "t\x00"}, "NUL"),
        ({"task": "t", "tests": [{"code": "assert (("}]}, "not valid Python"),
        ({"task": "t", "tests": [{"call": "f(", "expected": 1}]}, "not a valid Python expression"),
        ({"task": "t", "tests": [{"call": "f()", "expected": float("nan")}]}, "finite"),
        ({"task": "t", "tests": [{"call": "f()", "expected": object()}]}, "JSON-serialisable"),
        ({"task": "t", "max_attempts": -2}, "max_attempts"),
        ({"task": "t", "max_attempts": True}, "max_attempts"),
        ({"task": 42}, "task"),
    ],
)
def test_bad_graph_input_is_a_clear_error(local_sandbox: LocalSandbox, inputs: dict[str, Any], message: str) -> None:
    graph = build_graph(model=scripted_model(["x"]), sandbox=local_sandbox)
    with pytest.raises(ConfigError, match=message):
        graph.invoke(inputs)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "5"])
def test_bad_timeouts_are_rejected(local_sandbox: LocalSandbox, timeout: Any) -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        local_sandbox.run("print(1)", timeout_s=timeout)
    with pytest.raises(ConfigError, match="timeout_s"):
        build_graph(model=scripted_model(["x"]), sandbox=local_sandbox, timeout_s=timeout)


def test_bytes_as_code_is_rejected(local_sandbox: LocalSandbox) -> None:
    with pytest.raises(ConfigError, match="must be a str"):
        local_sandbox.run(b"print(1)")  # type: ignore[arg-type]
