"""The prepare node: check the input once, at the edge, and set the run's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from codeloop.context import RunContext
from codeloop.deps import context_of
from codeloop.errors import ConfigError
from codeloop.state import LoopState, normalize_tests

MAX_TASK_CHARS = 200_000


def check_max_attempts(value: object) -> int:
    """A positive int, or a ConfigError that says what was wrong."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"max_attempts must be a whole number >= 1, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class PrepareNode:
    """Graph node: validate ``task`` and ``tests``, settle the run's options, reset its counters.

    Each option comes from the input if given, else the run's context, else the builder.
    """

    max_attempts: int = 4
    policy: str = "standard"
    approval: bool = False
    generated_tests: bool | None = None

    def __call__(self, state: LoopState, runtime: Runtime[RunContext] | None = None) -> dict[str, Any]:
        context = context_of(runtime) or RunContext()
        task = state.get("task")
        if not isinstance(task, str) or not task.strip():
            raise ConfigError("the input needs a non-empty 'task' string describing what the code must do")
        if len(task) > MAX_TASK_CHARS:
            raise ConfigError(f"the task is {len(task)} characters long; the limit is {MAX_TASK_CHARS}")
        if "\x00" in task:
            raise ConfigError("the task contains a NUL byte")
        tests = normalize_tests(state.get("tests"))
        if "generated_tests" in state and state["generated_tests"] is not None:
            wanted = bool(state["generated_tests"])
        elif context.generated_tests is not None:
            wanted = context.generated_tests
        elif self.generated_tests is not None:
            wanted = self.generated_tests
        else:
            wanted = not tests  # on by default only when the task came without tests
        return {
            "tests": tests,
            "generated_tests": wanted,
            "max_attempts": check_max_attempts(state.get("max_attempts", context.max_attempts or self.max_attempts)),
            "policy": state.get("policy") or context.policy or self.policy,
            "approval": bool(state.get("approval", self.approval if context.approval is None else context.approval)),
            "status": "running",
            "attempts": 0,
            "best": None,
            "reason": "",
        }
