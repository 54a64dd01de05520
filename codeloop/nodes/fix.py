"""The fix node: a new version from the failing code, its feedback, and what was already tried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from codeloop.nodes.attempts import close_attempt
from codeloop.nodes.generate import new_version
from codeloop.context import RunContext
from codeloop.deps import Deps
from codeloop.nodes.prompts import SYSTEM, fix_prompt
from codeloop.state import LoopState


@dataclass(frozen=True, slots=True)
class FixNode:
    """Graph node: record the failed attempt, then ask the model for a corrected version."""

    deps: Deps

    @classmethod
    def from_model(cls, model: BaseChatModel) -> FixNode:
        """A node around ``model`` alone."""
        return cls(Deps(model=model))

    def __call__(self, state: LoopState, runtime: Runtime[RunContext] | None = None) -> dict[str, Any]:
        closed = close_attempt(state)
        history = [*state.get("history", []), *closed.get("history", [])]
        prompt = fix_prompt(state["task"], state.get("tests", []), state.get("code", ""),
                            state.get("feedback") or "", history)
        reply = self.deps.caller(runtime)([SystemMessage(SYSTEM), HumanMessage(prompt)])
        return {**closed, **new_version(state, reply, "fix")}
