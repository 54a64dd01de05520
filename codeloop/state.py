"""The graph state and the records inside it. Everything here is JSON-serialisable."""

from __future__ import annotations

import ast
import math
import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from codeloop.errors import ConfigError

Status = Literal["running", "passed", "failed"]
Stage = Literal["generate", "validate", "approve", "execute", "test"]
Provenance = Literal["given", "generated"]


class TestCase(TypedDict, total=False):
    """One test. Either ``call`` + ``expected`` (compared by value on the host, floats
    with tolerance) or ``code`` (assertion code; passes when it raises nothing).

    ``name`` labels it in reports; ``provenance`` says who wrote it.
    """

    call: str
    expected: Any
    code: str
    name: str
    provenance: Provenance


class TestResult(TypedDict):
    """The verdict of one test on one code version."""

    name: str
    passed: bool
    expected: Any
    actual: str | None
    error: str | None
    provenance: Provenance
    duration_s: float


class Usage(TypedDict):
    """What the model calls cost, summed over a run."""

    input_tokens: int
    output_tokens: int
    calls: int
    model_seconds: float


def add_usage(left: Usage | None, right: Usage | None) -> Usage:
    """Reducer: usage only ever accumulates."""
    out: Usage = {"input_tokens": 0, "output_tokens": 0, "calls": 0, "model_seconds": 0.0}
    for part in (left, right):
        if part:
            out["input_tokens"] += int(part.get("input_tokens", 0))
            out["output_tokens"] += int(part.get("output_tokens", 0))
            out["calls"] += int(part.get("calls", 0))
            out["model_seconds"] = round(out["model_seconds"] + float(part.get("model_seconds", 0.0)), 6)
    return out


class InputState(TypedDict, total=False):
    """What a caller passes to ``graph.invoke``."""

    task: str
    tests: list[TestCase]
    max_attempts: int
    policy: str
    approval: bool
    generated_tests: bool


class OutputState(TypedDict, total=False):
    """What a finished run returns."""

    task: str
    status: Status
    code: str
    attempts: int
    history: list[dict[str, Any]]
    test_results: list[TestResult]
    output: str
    reason: str
    usage: Usage
    answer: str
    tests: list[TestCase]
    generated_report: dict[str, Any]


class LoopState(TypedDict):
    """The full working state of one run."""

    task: str
    tests: NotRequired[list[TestCase]]
    max_attempts: NotRequired[int]
    policy: NotRequired[str]
    approval: NotRequired[bool]
    code: NotRequired[str]
    status: NotRequired[Status]
    attempts: NotRequired[int]
    stage: NotRequired[Stage]
    ok: NotRequired[bool]
    feedback: NotRequired[str]
    error: NotRequired[dict[str, Any] | None]
    validation: NotRequired[dict[str, Any]]
    execution: NotRequired[dict[str, Any] | None]
    test_results: NotRequired[list[TestResult]]
    output: NotRequired[str]
    reason: NotRequired[str]
    answer: NotRequired[str]
    best: NotRequired[dict[str, Any] | None]
    generated_tests: NotRequired[bool | None]
    generated_report: NotRequired[dict[str, Any]]
    regressions: NotRequired[list[str]]
    last_call: NotRequired[dict[str, Any]]
    history: Annotated[list[dict[str, Any]], operator.add]
    usage: Annotated[Usage, add_usage]


def normalize_tests(raw: object) -> list[TestCase]:
    """Check and normalise user-supplied tests, naming the first bad one.

    Raises:
        ConfigError: a test is not a mapping, has neither ``call`` nor ``code``,
            or has an ``expected`` value that is not JSON-serialisable.
    """
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        raise ConfigError(f"tests must be a list of test cases, got {type(raw).__name__}")
    out: list[TestCase] = []
    for i, test in enumerate(raw):
        if not isinstance(test, dict):
            raise ConfigError(f"test {i} must be a dict like {{'call': 'f(1)', 'expected': 2}}, got {test!r:.80}")
        unknown = set(test) - {"call", "expected", "code", "name", "provenance"}
        if unknown:
            raise ConfigError(f"test {i} has unknown keys {sorted(unknown)}")
        if ("call" in test) == ("code" in test):
            raise ConfigError(f"test {i} needs exactly one of 'call' (with 'expected') or 'code'")
        body = test.get("call", test.get("code"))
        if not isinstance(body, str) or not body.strip():
            raise ConfigError(f"test {i}: 'call'/'code' must be non-empty text")
        try:
            ast.parse(body, mode="eval" if "call" in test else "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
            kind = "a valid Python expression" if "call" in test else "valid Python code"
            raise ConfigError(f"test {i} is not {kind}{where}: {body!r:.80}") from None
        case: TestCase = {"provenance": test.get("provenance", "given")}
        if "call" in test:
            if "expected" not in test:
                raise ConfigError(f"test {i} ({body!r:.60}) has a 'call' but no 'expected'")
            check_json_value(test["expected"], f"test {i} 'expected'")
            case["call"], case["expected"] = body, test["expected"]
        else:
            case["code"] = body
        case["name"] = str(test.get("name") or _default_name(test))
        if case["provenance"] not in ("given", "generated"):
            raise ConfigError(f"test {i}: provenance must be 'given' or 'generated'")
        out.append(case)
    return out


def _default_name(test: dict[str, Any]) -> str:
    if "call" in test:
        return f"{test['call']} == {test['expected']!r}"
    first = next((line for line in str(test["code"]).strip().splitlines() if line.strip()), "")
    return first if len(first) <= 80 else first[:77] + "..."


def check_json_value(value: object, what: str, depth: int = 0) -> None:
    """Raise ConfigError unless ``value`` is plain JSON (finite numbers, str, lists, str-keyed dicts)."""
    if depth > 100:
        raise ConfigError(f"{what} is nested too deeply")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{what} must be a finite number, got {value!r}")
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_json_value(item, what, depth + 1)
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for item in value.values():
            check_json_value(item, what, depth + 1)
        return
    raise ConfigError(
        f"{what} must be JSON-serialisable (numbers, text, lists, dicts), got {type(value).__name__}; "
        "compare other values in an assertion test: {'code': 'assert f(x) == ...'}"
    )
