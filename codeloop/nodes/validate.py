"""The validate node: reject code before it runs, with feedback a model can act on."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from codeloop.nodes.policy import PolicyName, check_policy
from codeloop.state import LoopState, TestCase

_BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of validation."""

    valid: bool
    errors: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "errors": list(self.errors)}


def validate_code(
    code: str,
    *,
    policy: PolicyName = "standard",
    max_code_chars: int = 100_000,
    tests: Iterable[TestCase] = (),
) -> Verdict:
    """Check ``code`` without running it.

    Rejects empty code, NUL bytes, code over ``max_code_chars``, syntax errors
    (with line, column and the offending line), policy violations, and tests that
    call a name the code never defines.
    """
    if not isinstance(code, str) or not code.strip():
        return Verdict(False, ["the code is empty"])
    if "\x00" in code:
        return Verdict(False, [f"the code contains a NUL byte at offset {code.index(chr(0))}"])
    if len(code) > max_code_chars:
        return Verdict(False, [f"the code is {len(code)} characters long; the limit is {max_code_chars}"])
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return Verdict(False, [describe_syntax_error(exc)])
    except (ValueError, RecursionError, MemoryError) as exc:
        return Verdict(False, [f"the code cannot be parsed: {type(exc).__name__}: {exc}"])
    errors = [str(v) for v in check_policy(tree, policy)]
    # Generated tests may be wrong: a name only they call fails at test time, where it can be dropped.
    errors += missing_names(tree, [t for t in tests if t.get("provenance", "given") == "given"])
    return Verdict(not errors, errors)


def describe_syntax_error(exc: SyntaxError) -> str:
    """'SyntaxError at line 3, column 9: invalid syntax' plus the line and a caret."""
    where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
    text = f"SyntaxError at {where}: {exc.msg}"
    if exc.text:
        source = exc.text.rstrip("\n")
        text += f"\n    {source.strip()}"
        if exc.offset:
            indent = len(source) - len(source.lstrip())
            text += "\n    " + " " * max(exc.offset - 1 - indent, 0) + "^"
    return text


def defined_names(tree: ast.Module) -> set[str]:
    """Names bound at module level: defs, classes, assignments, imports, loop targets."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def called_names(test: TestCase) -> set[str]:
    """Free names a test calls (``add`` in ``add(2, 3)``), minus builtins and its own definitions."""
    source = test.get("call") or test.get("code") or ""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    own = defined_names(tree) | {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return calls - own - _BUILTIN_NAMES


def missing_names(tree: ast.Module, tests: Iterable[TestCase]) -> list[str]:
    """One message per test whose called names the code does not define."""
    have = defined_names(tree)
    errors = []
    for test in tests:
        missing = sorted(called_names(test) - have)
        if missing:
            defs = sorted(n for n in have if not n.startswith("_"))[:10]
            errors.append(
                f"test {test.get('name', '')!r} calls {', '.join(missing)}, which the code does not define"
                + (f" (it defines: {', '.join(defs)})" if defs else "")
            )
    return errors


@dataclass(frozen=True, slots=True)
class ValidateNode:
    """Graph node: validate ``state['code']`` and say whether it may run."""

    policy: PolicyName = "standard"
    max_code_chars: int = 100_000

    def __call__(self, state: LoopState) -> dict[str, Any]:
        verdict = validate_code(
            state.get("code", ""),
            policy=cast(PolicyName, state.get("policy") or self.policy),
            max_code_chars=self.max_code_chars,
            tests=state.get("tests", []),
        )
        update: dict[str, Any] = {"stage": "validate", "ok": verdict.valid, "validation": verdict.to_dict()}
        if not verdict.valid:
            update["feedback"] = "The code was rejected before running:\n" + "\n".join(f"- {e}" for e in verdict.errors)
            update["error"] = {"type": "ValidationError", "message": verdict.errors[0], "line": None}
        return update
