"""The execute node: run the code in the sandbox and turn a failure into feedback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from codeloop.context import RunContext
from codeloop.deps import Deps
from codeloop.nodes.feedback import describe_failure
from codeloop.state import LoopState


@dataclass(frozen=True, slots=True)
class ExecuteNode:
    """Graph node: run ``state['code']`` once as a program and record what happened."""

    deps: Deps
    timeout_s: float = 10.0

    def __call__(self, state: LoopState, runtime: Runtime[RunContext] | None = None) -> dict[str, Any]:
        result = self.deps.sandbox_for(runtime).run(state.get("code", ""), timeout_s=self.timeout_s)
        update: dict[str, Any] = {
            "stage": "execute",
            "ok": result.ok,
            "execution": result.to_dict(),
            "output": result.stdout,
        }
        if not result.ok:
            update["feedback"], update["error"] = describe_failure(result)
        return update
