"""Validation: size, NUL bytes, syntax with position, an AST policy that regexes would miss."""

from __future__ import annotations

import pytest

from codeloop.nodes.validate import ValidateNode, validate_code


def errors(code: str, **kw: object) -> list[str]:
    return validate_code(code, **kw).errors  # type: ignore[arg-type]


def test_empty_nul_and_size() -> None:
    assert errors("   \n") == ["the code is empty"]
    assert "NUL byte" in errors("x = 1\x00")[0]
    assert "limit is 10" in errors("x = 12345678901", max_code_chars=10)[0]


def test_syntax_error_has_line_column_and_the_line() -> None:
    (message,) = errors("x = 1\nif x == 1\n    pass\n")
    assert message.startswith("SyntaxError at line 2, column 10")
    assert "if x == 1" in message and "^" in message


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess\nsubprocess.run(['ls'])",
        "import os\nos.system('ls')",
        "from os import system\nsystem('ls')",
        "import os as o\no.popen('ls')",
        "m = __import__('os')",
        "import importlib\nimportlib.import_module('os')",
        "getattr(__builtins__, 'eval')('1')",
        "().__class__.__base__.__subclasses__()",
        "import socket",
        "from ctypes import CDLL",
    ],
)
def test_standard_policy_sees_through_spellings(code: str) -> None:
    assert errors(code), code


@pytest.mark.parametrize(
    "code",
    [
        "import json, math, re, collections, itertools, functools\nprint(json.dumps([math.pi]))",
        "import os\nprint(os.path.join('a', 'b'))",
        "import sys\nprint(sys.version_info >= (3,))",
        "with open('data.csv') as fh:\n    rows = fh.read().splitlines()",
        "import csv, statistics, datetime, decimal, fractions",
    ],
)
def test_standard_policy_lets_ordinary_code_through(code: str) -> None:
    assert errors(code) == []


@pytest.mark.parametrize(
    "code", ["import os", "import sys", "open('f')", "eval('1')", "exec('x=1')", "from shutil import copy"]
)
def test_strict_policy_blocks_more(code: str) -> None:
    assert errors(code, policy="strict")
    assert errors(code, policy="off") == []


def test_names_the_tests_call_must_exist() -> None:
    (message,) = errors("def plus(a, b):\n    return a + b", tests=[{"call": "add(1, 2)", "expected": 3, "name": "t1"}])
    assert "calls add" in message and "plus" in message
    check = {"code": "def check(candidate):\n    assert candidate(1) == 2\ncheck(inc)", "name": "check"}
    assert errors("def inc(x):\n    return x + 1", tests=[check]) == []


def test_node_update_carries_feedback() -> None:
    update = ValidateNode()({"task": "t", "code": "import subprocess", "history": []})  # type: ignore[typeddict-item]
    assert update["ok"] is False
    assert "subprocess" in update["feedback"] and "line 1" in update["feedback"]
