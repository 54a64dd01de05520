"""The fix node: a new version from the failing code, its feedback, and what was already tried."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from codeloop.context import RunContext
from codeloop.deps import Deps
from codeloop.nodes.attempts import close_attempt
from codeloop.nodes.generate import new_version
from codeloop.nodes.prompts import SYSTEM, fix_prompt
from codeloop.state import LoopState, TestCase


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
        update = {**closed, **new_version(state, reply, "fix")}
        kept, dropped = drop_wrong_tests(state.get("tests", []), reply.text)
        if dropped:
            update["tests"] = kept
            update["last_call"] = {**update["last_call"], "dropped_tests": dropped}
        return update


_WRONG = re.compile(r"^\s*WRONG TEST:\s*(.+?)\s*$", re.MULTILINE)


def drop_wrong_tests(tests: list[TestCase], reply: str) -> tuple[list[TestCase], list[str]]:
    """Drop the generated tests the model named as wrong; given tests are never dropped."""
    named = {m.group(1).strip("`'\" ") for m in _WRONG.finditer(reply)}
    if not named:
        return tests, []
    kept = [t for t in tests if t.get("provenance") != "generated" or t["name"] not in named]
    dropped = [t["name"] for t in tests if t not in kept]
    return kept, dropped
