"""Grading a program against a task's hidden tests, in a sandbox, with a failure category."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from codeloop.evals.datasets import EvalTask
from codeloop.nodes.test import arun_tests
from codeloop.sandboxes.base import Sandbox

Category = Literal["syntax", "runtime", "wrong_answer", "timeout", "model_error", "no_code"]


@dataclass(frozen=True, slots=True)
class Grade:
    """The hidden-test verdict on one program."""

    passed: bool
    category: Category | None
    error: str | None


def categorize(error: str | None) -> Category:
    """Map a failing verdict's error text onto a failure category."""
    text = error or ""
    first = text.splitlines()[0] if text else ""
    if first.startswith("Timeout") or "timed out" in first:
        return "timeout"
    if "SyntaxError" in first or "IndentationError" in first:
        return "syntax"
    if first.startswith(("AssertionError", "expected ")) or not first:
        return "wrong_answer"
    return "runtime"


async def grade(sandbox: Sandbox, task: EvalTask, program: str, *, timeout_s: float = 3.0) -> Grade:
    """Run ``task.hidden_tests`` against ``program``: passed only when every hidden test passes."""
    if not program.strip():
        return Grade(False, "no_code", "no code to grade")
    results, _ = await arun_tests(sandbox, program, task.hidden_tests, per_test_timeout_s=timeout_s)
    failed = next((r for r in results if not r["passed"]), None)
    if failed is None:
        return Grade(True, None, None)
    error = failed["error"] or f"expected {failed['expected']!r}, got {failed['actual']}"
    return Grade(False, categorize(error), error[:2000])
