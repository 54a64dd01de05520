"""The test node: every test in one sandbox run, verdicts over a channel the code cannot forge."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from codeloop.context import RunContext
from codeloop.deps import Deps
from codeloop.sandboxes.base import ExecutionResult, Sandbox
from codeloop.state import LoopState, TestCase, TestResult

HARNESS_SOURCE = (Path(__file__).parent.parent / "sandboxes" / "_harness.py").read_text(encoding="utf-8")
_MARK = "@@codeloop-verdict:"


def values_equal(actual: Any, expected: Any, *, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Compare by value: numbers with tolerance (bools only equal bools), lists and tuples alike."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if isinstance(expected, int) and isinstance(actual, int):
            return actual == expected
        return math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(actual, dict) and set(actual) == {"__float__"}:
        special = float(actual["__float__"])
        return isinstance(expected, float) and (
            (math.isnan(special) and math.isnan(expected)) or special == expected
        )
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(actual) == len(expected) and all(values_equal(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return set(actual) == set(expected) and all(values_equal(actual[k], expected[k]) for k in expected)
    return type(actual) is type(expected) and bool(actual == expected)


def parse_verdicts(stdout: str, nonce: str) -> tuple[list[dict[str, Any]], str | None]:
    """The harness's records for this nonce, and a tampering note if the channel looks forged."""
    records: list[dict[str, Any]] = []
    prefix = f"{_MARK}{nonce}:"
    for line in stdout.splitlines():
        if line.startswith(prefix):
            try:
                records.append(json.loads(line[len(prefix):]))
            except ValueError:
                return [], "a verdict line could not be read"
    indexes = [r["index"] for r in records if "index" in r]
    if len(indexes) != len(set(indexes)):
        return [], "the same test reported twice (the verdict channel was tampered with)"
    return records, None


def _harness_input(code: str, tests: Sequence[TestCase], per_test_timeout_s: float,
                   total_timeout_s: float | None) -> tuple[str, str, float]:
    """The nonce, the harness's stdin, and the run's time budget."""
    nonce = secrets.token_hex(16)
    spec = {
        "nonce": nonce,
        "code": code,
        "per_test_timeout_s": per_test_timeout_s,
        "tests": [
            {"kind": "call", "call": t["call"]} if "call" in t else {"kind": "code", "code": t["code"]} for t in tests
        ],
    }
    budget = total_timeout_s or per_test_timeout_s * (len(tests) + 1) + 2.0
    return nonce, json.dumps(spec), budget


def _collect(tests: Sequence[TestCase], result: ExecutionResult, nonce: str) -> list[TestResult]:
    records, tampered = parse_verdicts(result.stdout, nonce)
    load_error = next((r["load_error"] for r in records if "load_error" in r), None)
    by_index = {r["index"]: r for r in records if "index" in r}
    return [_verdict(test, by_index.get(i), load_error, tampered, result) for i, test in enumerate(tests)]


def run_tests(
    sandbox: Sandbox,
    code: str,
    tests: Sequence[TestCase],
    *,
    per_test_timeout_s: float = 5.0,
    total_timeout_s: float | None = None,
) -> tuple[list[TestResult], ExecutionResult]:
    """Run ``tests`` against ``code`` in one sandbox run and return a verdict per test.

    A test with no verdict (the run was killed, the channel tampered with) fails.
    """
    nonce, stdin, budget = _harness_input(code, tests, per_test_timeout_s, total_timeout_s)
    result = sandbox.run(HARNESS_SOURCE, timeout_s=budget, stdin=stdin)
    return _collect(tests, result, nonce), result


async def arun_tests(
    sandbox: Sandbox,
    code: str,
    tests: Sequence[TestCase],
    *,
    per_test_timeout_s: float = 5.0,
    total_timeout_s: float | None = None,
) -> tuple[list[TestResult], ExecutionResult]:
    """:func:`run_tests` through the sandbox's async path."""
    nonce, stdin, budget = _harness_input(code, tests, per_test_timeout_s, total_timeout_s)
    result = await sandbox.arun(HARNESS_SOURCE, timeout_s=budget, stdin=stdin)
    return _collect(tests, result, nonce), result


def _verdict(test: TestCase, record: dict[str, Any] | None, load_error: dict[str, Any] | None,
             tampered: str | None, result: ExecutionResult) -> TestResult:
    verdict: TestResult = {
        "name": test.get("name", ""),
        "passed": False,
        "expected": test.get("expected"),
        "actual": None,
        "error": None,
        "provenance": test.get("provenance", "given"),
        "duration_s": 0.0,
    }
    if tampered:
        verdict["error"] = f"no trustworthy verdict: {tampered}"
        return verdict
    if load_error is not None:
        verdict["error"] = f"the code failed to load: {load_error['type']}: {load_error['message']}"
        return verdict
    if record is None:
        why = "the test run timed out" if result.timed_out else f"the test run ended early (exit code {result.exit_code})"
        verdict["error"] = f"no verdict: {why}"
        return verdict
    verdict["duration_s"] = round(float(record.get("duration_s", 0.0)), 4)
    if "error" in record:
        err = record["error"]
        verdict["error"] = f"{err['type']}: {err['message']}".rstrip(": ")
        if err.get("traceback") and not record.get("assertion"):
            verdict["error"] += "\n" + err["traceback"]
        return verdict
    if "call" in test:
        verdict["actual"] = record.get("actual_repr")
        if "not_plain" in record:
            verdict["error"] = (f"returned {record.get('actual_repr')}, a {record['not_plain']} value that cannot be "
                                "compared by value; use an assertion test for it")
        else:
            verdict["passed"] = values_equal(record.get("actual"), test.get("expected"))
        return verdict
    verdict["passed"] = bool(record.get("passed"))
    return verdict


def summarize_failures(results: Sequence[TestResult], limit: int = 8) -> str:
    """Failing tests as feedback lines: expected vs actual, or the error."""
    failed = [r for r in results if not r["passed"]]
    lines = [f"{len(failed)} of {len(results)} tests failed:"]
    for r in failed[:limit]:
        tag = " (generated test)" if r["provenance"] == "generated" else ""
        if r["error"]:
            lines.append(f"- {r['name']}{tag}: {r['error']}")
        else:
            lines.append(f"- {r['name']}{tag}: expected {r['expected']!r}, got {r['actual']}")
    if len(failed) > limit:
        lines.append(f"- ... and {len(failed) - limit} more")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TestNode:
    """Graph node: run the tests on ``state['code']``."""

    __test__ = False  # not a pytest test class
    deps: Deps
    per_test_timeout_s: float = 5.0

    def __call__(self, state: LoopState, runtime: Runtime[RunContext] | None = None) -> dict[str, Any]:
        tests = state.get("tests", [])
        results, _ = run_tests(self.deps.sandbox_for(runtime), state.get("code", ""), tests,
                               per_test_timeout_s=self.per_test_timeout_s)
        ok = all(r["passed"] for r in results)
        earlier = {name for h in state.get("history", []) for name in h.get("tests_passed", [])}
        regressions = [r["name"] for r in results if not r["passed"] and r["name"] in earlier]
        update: dict[str, Any] = {"stage": "test", "ok": ok, "test_results": results, "regressions": regressions}
        if not ok:
            update["feedback"] = summarize_failures(results)
            if regressions:
                update["feedback"] = (
                    "REGRESSION: this version fails tests that an earlier version passed: "
                    + "; ".join(regressions[:8]) + ". Keep what worked before while fixing the rest.\n"
                    + update["feedback"])
            first = next(r for r in results if not r["passed"])
            update["error"] = {"type": "TestFailure", "message": first["error"] or f"{first['name']} failed", "line": None}
        return update
