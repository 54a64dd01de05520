"""The finalize node: the verdict, the best version, and the answer as text."""

from __future__ import annotations

from typing import Any

from codeloop.nodes.attempts import close_attempt, is_passing
from codeloop.state import LoopState


def render_answer(task: str, code: str, output: str, status: str, reason: str = "") -> str:
    """The seed's 'Problem / Solution / Result' text."""
    result = output.strip() or "(no output)"
    if status != "passed":
        result = f"FAILED: {reason}\n{result}" if reason else f"FAILED\n{result}"
    return f"Problem: {task.strip()}\n\nSolution:\n```python\n{code.rstrip()}\n```\n\nResult: {result}\n"


def failure_reason(state: LoopState) -> str:
    """Why the run failed, in one line."""
    attempts = state.get("attempts", 0)
    stage = state.get("stage", "generate")
    last = (state.get("feedback") or "").strip().splitlines()
    detail = f" (last failure at {stage}: {last[0][:200]})" if last else f" (last failure at {stage})"
    return f"max attempts reached: {attempts} of {state.get('max_attempts', attempts)} failed{detail}"


def finalize(state: LoopState) -> dict[str, Any]:
    """Graph node: close the last attempt and set ``status``, ``code``, ``reason``, ``answer``."""
    closed = close_attempt(state)
    best = closed.get("best") or state.get("best") or {}
    if is_passing(state):
        update = {"status": "passed", "reason": "", "code": state.get("code", "")}
        output = state.get("output", "")
    else:
        update = {
            "status": "failed",
            "reason": failure_reason(state),
            "code": best.get("code", state.get("code", "")),
            "test_results": best.get("test_results", state.get("test_results", [])),
        }
        output = best.get("output", "")
        update["output"] = output
    update["answer"] = render_answer(state["task"], update["code"], output, update["status"], update["reason"])
    return {**closed, **update}
