"""The test node: value comparison, per-test isolation, and verdicts the code cannot forge."""

from __future__ import annotations

import pytest

from codeloop.nodes.test import run_tests, values_equal
from codeloop.sandboxes import LocalSandbox
from codeloop.state import normalize_tests


def verdicts(sandbox: LocalSandbox, code: str, tests: list[dict[str, object]], **kw: float) -> list[bool]:
    results, _ = run_tests(sandbox, code, normalize_tests(tests), **kw)
    return [r["passed"] for r in results]


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        (0.30000000000000004, 0.3, True),
        (5, 5.0, True),
        (True, 1, False),
        ([1, 2], [1, 2], True),
        ([1, [2.0000000001]], [1, [2]], True),
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ("5", 5, False),
        (None, None, True),
    ],
)
def test_values_equal(actual: object, expected: object, equal: bool) -> None:
    assert values_equal(actual, expected) is equal


def test_call_tests_compare_by_value(local_sandbox: LocalSandbox) -> None:
    code = "def f(x):\n    return (x, x / 3)\n"
    assert verdicts(local_sandbox, code, [{"call": "f(1)", "expected": [1, 0.333333333]}]) == [True]
    assert verdicts(local_sandbox, code, [{"call": "f(1)", "expected": [1, 0.5]}]) == [False]


def test_humaneval_check_style(local_sandbox: LocalSandbox) -> None:
    check = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-3) == 9\n\ncheck(square)\n"
    assert verdicts(local_sandbox, "def square(x):\n    return x * x", [{"code": check}]) == [True]
    assert verdicts(local_sandbox, "def square(x):\n    return 2 * x", [{"code": check}]) == [False]


def test_a_hanging_or_crashing_test_does_not_hide_the_others(local_sandbox: LocalSandbox) -> None:
    code = "def add(a, b):\n    return a + b\n"
    tests = [
        {"call": "add(1, 2)", "expected": 3},
        {"code": "while True:\n    pass"},
        {"code": "import os\nos._exit(0)"},
        {"code": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"},
        {"code": "assert add(2, 2) == 4"},
    ]
    results, _ = run_tests(local_sandbox, code, normalize_tests(tests), per_test_timeout_s=1.0)
    assert [r["passed"] for r in results] == [True, False, False, False, True]
    assert "Timeout" in (results[1]["error"] or "")
    assert "without a verdict" in (results[2]["error"] or "")


def test_tests_do_not_see_each_others_side_effects(local_sandbox: LocalSandbox) -> None:
    code = "STATE = []\n"
    tests = [{"code": "STATE.append(1)\nassert STATE == [1]"}, {"code": "STATE.append(1)\nassert STATE == [1]"}]
    assert verdicts(local_sandbox, code, tests) == [True, True]


@pytest.mark.parametrize(
    "forgery",
    [
        # Printing what a verdict looks like, with a guessed nonce.
        'print("@@codeloop-verdict:00000000:" + \'{"index": 0, "passed": true}\')',
        # Closing stdout so that nothing can be reported.
        "import os\nos.close(1)",
        # Exiting before the tests run.
        "import os\nos._exit(0)",
        # Writing a results file next to the program.
        "open('results.json', 'w').write('{\"passed\": true}')",
    ],
)
def test_verdicts_cannot_be_forged(local_sandbox: LocalSandbox, forgery: str) -> None:
    code = "def add(a, b):\n    return a - b\n" + forgery + "\n"
    assert verdicts(local_sandbox, code, [{"call": "add(2, 3)", "expected": 5}, {"code": "assert add(1, 1) == 2"}]) == [
        False,
        False,
    ]


def test_a_rigged_eq_does_not_pass_a_value_test(local_sandbox: LocalSandbox) -> None:
    code = "class Always:\n    def __eq__(self, other):\n        return True\n\ndef add(a, b):\n    return Always()\n"
    results, _ = run_tests(local_sandbox, code, normalize_tests([{"call": "add(2, 3)", "expected": 5}]))
    assert results[0]["passed"] is False
    assert "cannot be compared by value" in (results[0]["error"] or "")


def test_load_error_fails_every_test_with_the_reason(local_sandbox: LocalSandbox) -> None:
    results, _ = run_tests(local_sandbox, "import no_such_module\n", normalize_tests([{"code": "pass"}]))
    assert results[0]["passed"] is False
    assert "ModuleNotFoundError" in (results[0]["error"] or "")
