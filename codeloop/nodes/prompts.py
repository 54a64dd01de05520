"""Every prompt the loop sends, in one place, so they can be read and tuned together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codeloop.state import TestCase

SYSTEM = (
    "You are an expert Python programmer. You write correct, complete, self-contained Python 3 code "
    "that uses only the standard library unless told otherwise. Reply with the whole program in a single "
    "```python fenced block. Do not read from standard input. Keep explanations out of the code block."
)


def describe_tests(tests: Sequence[TestCase], limit: int = 12) -> str:
    """The tests as the model should see them: what will be called and what is expected."""
    lines = []
    for test in list(tests)[:limit]:
        if "call" in test:
            lines.append(f"- {test['call']} must return {test['expected']!r}")
        else:
            body = test["code"].strip()
            lines.append("- this must run without error:\n" + "\n".join("    " + line for line in body.splitlines()[:15]))
    if len(tests) > limit:
        lines.append(f"- ... and {len(tests) - limit} more tests")
    return "\n".join(lines)


def generate_prompt(task: str, tests: Sequence[TestCase]) -> str:
    """The first request: the task, and the tests it will be judged by."""
    text = f"Task:\n{task.strip()}\n"
    if tests:
        text += f"\nYour code will be tested like this:\n{describe_tests(tests)}\n"
        text += "Define every function the tests call, with exactly those names.\n"
    return text + "\nWrite the code."


def fix_prompt(task: str, tests: Sequence[TestCase], code: str, feedback: str, history: Sequence[dict[str, Any]]) -> str:
    """A repair request: the failing code, what went wrong, and what was already tried."""
    text = f"Task:\n{task.strip()}\n"
    if tests:
        text += f"\nThe tests:\n{describe_tests(tests)}\n"
    text += f"\nThe current code:\n```python\n{code}\n```\n\nWhat went wrong:\n{feedback.strip()}\n"
    earlier = [h for h in history if h.get("feedback")][:-1]
    if earlier:
        text += "\nEarlier attempts that also failed (do not repeat these mistakes):\n"
        for h in earlier[-4:]:
            first = h["feedback"].strip().splitlines()[0][:200]
            text += f"- attempt {h['attempt']} failed at {h['stage']}: {first}\n"
    if any(t.get("provenance") == "generated" for t in tests):
        text += ("\nTests marked (generated test) were written automatically from the task and may themselves be "
                 "wrong. Do not bend correct code to a wrong test: if you are certain a failing generated test "
                 "contradicts the task, add a line `WRONG TEST: <test name>` after the code block and it will be "
                 "dropped. Tests not marked generated are given and always stay.\n")
    return text + "\nFind the cause and reply with the complete corrected code."


NO_CODE_FEEDBACK = (
    "Your reply contained no Python code. Reply with the complete program in a single ```python fenced block."
)
TRUNCATED_FEEDBACK = (
    "Your reply was cut off before the code ended (the output token limit was reached). "
    "Reply with a shorter complete program in a single ```python block, without explanations."
)
