"""Code extraction from the replies real models give."""

from __future__ import annotations

import pytest

from codeloop.nodes.extract import extract_code


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("```python\ndef f():\n    return 1\n```", "def f():\n    return 1"),
        ("Sure.\n```py\nx = 1\n```\nDone.", "x = 1"),
        ("```\nprint(2)\n```", "print(2)"),
        ("Sure! ```python\nprint(3)\n```", "print(3)"),
        ("<think>maybe def g(): ...</think>\n```python\ndef f():\n    return 2\n```", "def f():\n    return 2"),
        ("<think>unclosed reasoning def f", None),
        ("def add(a, b):\n    return a + b", "def add(a, b):\n    return a + b"),
        ("Here is the code:\nimport math\nprint(math.pi)", "import math\nprint(math.pi)"),
        ("I'm sorry, I can't help with that.", None),
        ("", None),
        ("The answer is 42.", None),
    ],
)
def test_extracts_code(reply: str, code: str | None) -> None:
    assert extract_code(reply) == code


def test_solution_and_usage_blocks_keep_the_solution() -> None:
    reply = "```python\ndef f(x):\n    return x * 2\n```\nUsage:\n```python\nprint(f(2))\n```"
    assert extract_code(reply) == "def f(x):\n    return x * 2"


def test_helper_and_solution_blocks_are_joined() -> None:
    reply = "```python\ndef helper():\n    return 1\n```\nand\n```python\ndef solve():\n    return helper()\n```"
    assert extract_code(reply) == "def helper():\n    return 1\n\ndef solve():\n    return helper()"


def test_output_blocks_are_not_code() -> None:
    reply = "```python\nprint(6 * 7)\n```\nOutput:\n```text\n42\n```"
    assert extract_code(reply) == "print(6 * 7)"


def test_a_reply_cut_off_inside_the_fence_keeps_what_is_there() -> None:
    assert extract_code("```python\ndef f():\n    return [1,\n") == "def f():\n    return [1,"


def test_bash_blocks() -> None:
    assert extract_code("```bash\necho hi\n```", language="bash") == "echo hi"
