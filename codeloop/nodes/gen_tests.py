"""The generate_tests node: test cases the model derives from the task, marked ``generated``."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from codeloop.context import RunContext
from codeloop.deps import Deps
from codeloop.nodes.extract import extract_code
from codeloop.nodes.policy import PolicyName, check_policy
from codeloop.state import LoopState, TestCase

TESTS_SYSTEM = (
    "You write test cases for Python programming tasks. Reply with one ```python block containing only "
    "assert statements, one per line, each checking one call of the function(s) the task asks for."
)
TESTS_PROMPT = (
    "Task:\n{task}\n\nWrite {count} assert statements that a correct solution must pass: the examples stated "
    "in the task, typical cases, and edge cases (empty input, zero, negative numbers, one element, ...). "
    "Only assert what the task says for certain."
)
MAX_GENERATED = 12
MAX_TEST_CHARS = 50_000


def parse_generated(text: str, policy: PolicyName) -> tuple[list[TestCase], list[str]]:
    """Assert statements from a reply, each a ``generated`` test; plus why others were refused."""
    code = extract_code(text) or ""
    if not code.strip():
        return [], ["the reply held no test code"]
    if len(code) > MAX_TEST_CHARS:
        return [], [f"the test reply is {len(code)} characters long; the limit is {MAX_TEST_CHARS}"]
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return [], ["the test reply was not valid Python"]
    tests: list[TestCase] = []
    refused: list[str] = []
    lines = code.splitlines()
    for node in tree.body:
        source = "\n".join(lines[node.lineno - 1 : node.end_lineno]).strip()
        if not isinstance(node, ast.Assert):
            refused.append(f"not an assert statement: {source[:80]}")
            continue
        problems = check_policy(ast.Module(body=[node], type_ignores=[]), policy)
        if problems:
            refused.append(f"{source[:80]}: {problems[0].message}")
            continue
        name = ast.unparse(node.test)
        tests.append({"code": source, "name": name if len(name) <= 100 else name[:97] + "...",
                      "provenance": "generated"})
    unique = {t["name"]: t for t in tests}
    return list(unique.values())[:MAX_GENERATED], refused


@dataclass(frozen=True, slots=True)
class GenerateTestsNode:
    """Graph node: ask the model for tests; they run through the same validation and sandbox as code."""

    deps: Deps
    policy: PolicyName = "standard"
    count: int = 6

    def __call__(self, state: LoopState, runtime: Runtime[RunContext] | None = None) -> dict[str, Any]:
        messages = [SystemMessage(TESTS_SYSTEM),
                    HumanMessage(TESTS_PROMPT.format(task=state["task"].strip(), count=self.count))]
        reply = self.deps.caller(runtime).plain(messages)
        generated, refused = parse_generated(reply.text, state.get("policy") or self.policy)  # type: ignore[arg-type]
        given = [t for t in state.get("tests", []) if t.get("provenance", "given") == "given"]
        names = {t["name"] for t in given}
        generated = [t for t in generated if t["name"] not in names]
        return {
            "tests": [*given, *generated],
            "usage": reply.usage,
            "generated_report": {"accepted": [t["name"] for t in generated], "refused": refused},
        }
