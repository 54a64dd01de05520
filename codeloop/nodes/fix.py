"""The fix node: a new version from the failing code, its feedback, and what was already tried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from codeloop.nodes.attempts import close_attempt
from codeloop.nodes.generate import new_version
from codeloop.nodes.model_call import ModelCaller
from codeloop.nodes.prompts import SYSTEM, fix_prompt
from codeloop.state import LoopState


@dataclass(frozen=True, slots=True)
class FixNode:
    """Graph node: record the failed attempt, then ask the model for a corrected version."""

    caller: ModelCaller

    @classmethod
    def from_model(cls, model: BaseChatModel) -> FixNode:
        """A node around ``model`` with its own :class:`ModelCaller`."""
        return cls(ModelCaller(model))

    def __call__(self, state: LoopState) -> dict[str, Any]:
        closed = close_attempt(state)
        history = [*state.get("history", []), *closed.get("history", [])]
        prompt = fix_prompt(state["task"], state.get("tests", []), state.get("code", ""),
                            state.get("feedback") or "", history)
        reply = self.caller([SystemMessage(SYSTEM), HumanMessage(prompt)])
        return {**closed, **new_version(state, reply, "fix")}
