"""The generate node: the first code version, from the task and the tests' signatures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from codeloop.context import RunContext
from codeloop.deps import Deps
from codeloop.nodes.model_call import ModelReply
from codeloop.nodes.prompts import SYSTEM, generate_prompt
from codeloop.state import LoopState


def new_version(state: LoopState, reply: ModelReply, node: str) -> dict[str, Any]:
    """The state update for a fresh code version (or for a reply that had none)."""
    update: dict[str, Any] = {
        "attempts": state.get("attempts", 0) + 1,
        "stage": "generate",
        "usage": reply.usage,
        "last_call": {"node": node, "usage": reply.usage, "finish_reason": reply.finish_reason,
                      "rationale": reply.rationale, "structured": reply.structured},
        "test_results": [],
        "execution": None,
        "error": None,
        "feedback": "",
    }
    problem = reply.feedback
    if problem is None and reply.code is not None:
        update.update(code=reply.code, ok=True)
    else:
        update.update(ok=False, feedback=problem, error={"type": "NoCode", "message": problem, "line": None})
        if reply.code is not None:
            update["code"] = reply.code  # keep what there is: the fix node can finish it
    return update


@dataclass(frozen=True, slots=True)
class GenerateNode:
    """Graph node: ask the model for a first solution."""

    deps: Deps

    @classmethod
    def from_model(cls, model: BaseChatModel) -> GenerateNode:
        """A node around ``model`` alone."""
        return cls(Deps(model=model))

    def __call__(self, state: LoopState, runtime: Runtime[RunContext] | None = None) -> dict[str, Any]:
        messages = [SystemMessage(SYSTEM), HumanMessage(generate_prompt(state["task"], state.get("tests", [])))]
        return new_version(state, self.deps.caller(runtime)(messages), "generate")
