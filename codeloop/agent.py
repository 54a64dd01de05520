"""One-call features on top of the loop: solve, analyze, compute, transform.

Each builds the same graph with a task written for the job, runs it, and returns a
:class:`SolveResult` that renders as the seed's "Problem / Solution / Result" text.
"""

from __future__ import annotations

import ast
import csv
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from codeloop.errors import ConfigError
from codeloop.nodes.finalize import render_answer
from codeloop.sandboxes.base import Sandbox
from codeloop.sandboxes.logged import LoggedSandbox
from codeloop.state import TestCase

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class SolveResult:
    """What a one-call feature produced."""

    task: str
    status: str
    code: str
    output: str
    attempts: int
    usage: dict[str, Any]
    reason: str = ""
    test_results: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when the code ran (and passed its tests)."""
        return self.status == "passed"

    @property
    def answer(self) -> str:
        """The program's printed result, stripped."""
        return self.output.strip()

    def __str__(self) -> str:
        return render_answer(self.task, self.code, self.output, self.status, self.reason)

    def to_markdown(self) -> str:
        """The same report as Markdown."""
        result = self.output.strip() or "(no output)"
        head = "" if self.passed else f"**Failed:** {self.reason}\n\n"
        return (f"## Problem\n\n{self.task.strip()}\n\n## Solution\n\n```python\n{self.code.rstrip()}\n```\n\n"
                f"## Result\n\n{head}```\n{result}\n```\n")

    @classmethod
    def from_state(cls, task: str, out: Mapping[str, Any]) -> SolveResult:
        return cls(task=task, status=out.get("status", "failed"), code=out.get("code", ""),
                   output=out.get("output", ""), attempts=out.get("attempts", 0), usage=dict(out.get("usage") or {}),
                   reason=out.get("reason", ""), test_results=list(out.get("test_results") or []),
                   history=list(out.get("history") or []))


@contextmanager
def _sandbox(sandbox: Sandbox | str | None, log: str | Path | None, data_dir: Path | None = None) -> Iterator[Sandbox]:
    """The sandbox for one call (closed afterwards when made here), logged when asked."""
    from codeloop.sandboxes.registry import make_sandbox

    owned = sandbox is None or isinstance(sandbox, str)
    if owned:
        options = {"data_dir": data_dir} if data_dir is not None else {}
        if data_dir is not None and sandbox not in (None, "local", "docker"):
            raise ConfigError(f"the {sandbox} backend cannot be given a data file: use local or docker")
        box: Sandbox = make_sandbox(sandbox, **options)
    else:
        box = sandbox  # type: ignore[assignment]
    try:
        yield LoggedSandbox(box, log) if log else box
    finally:
        if owned:
            box.close()


def _run(task: str, tests: Sequence[TestCase] | None, *, model: BaseChatModel | str | None, box: Sandbox,
         options: dict[str, Any]) -> SolveResult:
    from codeloop.graph import build_graph

    graph = build_graph(model=model, sandbox=box, **options)
    out = graph.invoke({"task": task, "tests": list(tests or [])})
    return SolveResult.from_state(task, out)


def solve(task: str, tests: Sequence[TestCase] | None = None, *, model: BaseChatModel | str | None = None,
          sandbox: Sandbox | str | None = None, log: str | Path | None = None, **options: Any) -> SolveResult:
    """Generate, validate, run, test and fix code for ``task``.

    Args:
        tests: test cases as in ``graph.invoke``; none: the code must run cleanly.
        model: a chat model or a model spec (see :func:`codeloop.make_model`).
        sandbox: a sandbox or a backend name (default ``local``).
        log: append every sandbox run to this JSONL file.
        options: passed to :func:`codeloop.build_graph` (``max_attempts``, ``policy`` ...).

    Example:
        >>> result = solve("Print the sum of the primes below 100.", model=chat_model)  # doctest: +SKIP
        >>> print(result)  # Problem / Solution / Result  # doctest: +SKIP
    """
    with _sandbox(sandbox, log) as box:
        return _run(task, tests, model=model, box=box, options=options)


# -- exact computation ---------------------------------------------------------------

COMPUTE_TASK = (
    "Compute exactly: {question}\n\n"
    "Write a Python program that computes the answer and prints only the answer on the last line. "
    "Compute it, never estimate: use integers, fractions.Fraction or decimal.Decimal rather than floats where "
    "exactness matters, and the standard library only."
)


def compute(question: str, *, model: BaseChatModel | str | None = None, sandbox: Sandbox | str | None = None,
            tests: Sequence[TestCase] | None = None, log: str | Path | None = None, **options: Any) -> SolveResult:
    """Answer ``question`` by running code that computes it; ``result.answer`` is what it printed."""
    if not question.strip():
        raise ConfigError("compute() needs a question")
    options.setdefault("generated_tests", False)  # the answer is printed, not returned by a function
    with _sandbox(sandbox, log) as box:
        return _run(COMPUTE_TASK.format(question=question.strip()), tests, model=model, box=box, options=options)


# -- data analysis ---------------------------------------------------------------------

ANALYZE_TASK = (
    "Answer this question about a data set: {question}\n\n"
    "The data is in the file {path} ({fmt}, {size} bytes{rows}). Do not expect it anywhere else, and do not "
    "copy it into the program: read it from that path, streaming it row by row if it is large. Use only the "
    "Python standard library (csv, json, statistics, collections). Print only the answer.\n\n"
    "Fields: {schema}\nThe first rows:\n{sample}"
)


def _write_data(data: Any, folder: Path) -> Path:
    """Put ``data`` into ``folder`` as a file the sandbox can read; returns its path."""
    if isinstance(data, str | Path):
        source = Path(data)
        if not source.is_file():
            raise ConfigError(f"no data file {source}")
        suffix = source.suffix.lower()
        if suffix not in (".csv", ".json", ".jsonl", ".ndjson", ".tsv"):
            raise ConfigError(f"unsupported data file {source.name}: use .csv, .tsv, .json or .jsonl")
        target = folder / f"data{suffix}"
        shutil.copyfile(source, target)  # a copy the run's own uid may read; the original is untouched
    elif hasattr(data, "to_csv") and hasattr(data, "columns"):  # a pandas DataFrame, without importing pandas
        target = folder / "data.csv"
        data.to_csv(target, index=False)
    elif isinstance(data, list) and all(isinstance(row, Mapping) for row in data):
        target = folder / "data.jsonl"
        with target.open("w", encoding="utf-8") as fh:
            for row in data:
                fh.write(json.dumps(row, default=str) + "\n")
    else:
        raise ConfigError("analyze() takes a list of dicts, a pandas DataFrame, or a .csv/.json/.jsonl path")
    target.chmod(0o644)
    return target


def describe_data(path: Path) -> tuple[str, str, str]:
    """(format, schema, sample) from the head of the file only, however large it is."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            header = next(reader, [])
            rows = [row for _, row in zip(range(SAMPLE_ROWS), reader, strict=False)]
        types = []
        for i, name in enumerate(header):
            values = [r[i] for r in rows if i < len(r)]
            types.append(f"{name} ({_guess_type(values)})")
        sample = "\n".join(",".join(r) for r in [header, *rows])
        return ("CSV with a header row" if suffix == ".csv" else "TSV with a header row"), ", ".join(types), sample
    with path.open(encoding="utf-8", errors="replace") as fh:
        if suffix == ".json":
            head = fh.read(4096)
            return "JSON", "(see the sample)", head + ("..." if len(head) == 4096 else "")
        lines = [line.rstrip("\n") for _, line in zip(range(SAMPLE_ROWS), fh, strict=False)]
    fields: dict[str, str] = {}
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            for key, value in row.items():
                fields.setdefault(key, type(value).__name__)
    return "JSON Lines, one object per line", ", ".join(f"{k} ({v})" for k, v in fields.items()), "\n".join(lines)


def _guess_type(values: list[str]) -> str:
    for kind, test in (("int", int), ("float", float)):
        try:
            for value in values:
                test(value)
            return kind if values else "text"
        except ValueError:
            continue
    return "text"


def analyze(data: Any, question: str, *, model: BaseChatModel | str | None = None, sandbox: str | None = None,
            log: str | Path | None = None, **options: Any) -> SolveResult:
    """Answer ``question`` about ``data`` with generated code that reads the data as a file.

    The data (a list of dicts, a pandas DataFrame, or a CSV/TSV/JSON/JSONL file) is handed to
    the sandbox as a read-only file; the prompt holds only its schema and a few rows. The
    answer is what the program printed (``result.answer``).
    """
    if not question.strip():
        raise ConfigError("analyze() needs a question")
    options.setdefault("generated_tests", False)
    folder = Path(tempfile.mkdtemp(prefix="codeloop-data-"))
    try:
        folder.chmod(0o755)
        path = _write_data(data, folder)
        fmt, schema, sample = describe_data(path)
        with _sandbox(sandbox, log, data_dir=folder) as box:
            inside = f"{getattr(box, 'data_path', None) or folder}/{path.name}"
            size = path.stat().st_size
            rows = f", {len(data)} rows" if isinstance(data, list) else ""
            task = ANALYZE_TASK.format(question=question.strip(), path=inside, fmt=fmt, size=size, rows=rows,
                                       schema=schema or "(none found)", sample=sample)
            return _run(task, None, model=model, box=box, options=options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- transformation with verification ---------------------------------------------------

TRANSFORM_TASK = (
    "Rewrite this Python code: {instruction}\n\n```python\n{code}\n```\n\n"
    "Keep its behaviour exactly: the same functions with the same names and parameters, the same results and "
    "the same printed output for every input. Reply with the complete rewritten code."
)

_PROBES = ("0", "1", "-3", "7", "2.5", "''", "'abc'", "'a b'", "[]", "[3, 1, 2]", "[1, 1]", "(1, 2)", "{'a': 1}",
           "None", "True")
_DIFF_TEST = '''
import itertools, io, contextlib, random
ORIGINAL = {original!r}
FUNCTIONS = {functions!r}
PROBES = [{probes}]

def _outcome(fn, args):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            value = fn(*[_copy(a) for a in args])
        return ("ok", repr(value), out.getvalue())
    except Exception as exc:
        return ("raises", type(exc).__name__, out.getvalue())

def _copy(value):
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value

def _run_program(source):
    out = io.StringIO()
    namespace = {{"__name__": "__main__"}}
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<program>", "exec"), namespace)
    return namespace, out.getvalue()

old_ns, old_out = _run_program(ORIGINAL)
new_ns, new_out = _run_program(open("solution.py").read())
assert new_out == old_out, f"the program printed {{new_out[:300]!r}}; the original printed {{old_out[:300]!r}}"
rng = random.Random(1234)
for name, arity in FUNCTIONS:
    assert name in new_ns, f"the rewrite no longer defines {{name}}()"
    combos = list(itertools.product(PROBES, repeat=arity)) if arity <= 2 else [
        tuple(rng.choice(PROBES) for _ in range(arity)) for _ in range(200)]
    for args in combos[:300]:
        before, after = _outcome(old_ns[name], args), _outcome(new_ns[name], args)
        call = f"{{name}}({{', '.join(map(repr, args))}})"
        if before[0] == "raises":  # outside the original's domain: any error will do
            assert after[0] == "raises", f"{{call}}: the original raised {{before[1]}}, the rewrite returns {{after[1]}}"
            continue
        assert before == after, f"{{call}}: the original gave {{before}}, the rewrite gives {{after}}"
'''


def differential_test(original: str) -> TestCase:
    """A test that runs the original (the oracle) and the rewrite on generated inputs and compares.

    Compares printed output of the whole program, and for every top-level function, its
    return value and printed output on combinations of probe values; where the original
    raises (the input is outside its domain), the rewrite must raise too.
    """
    try:
        tree = ast.parse(original)
    except SyntaxError as exc:
        raise ConfigError(f"the code to transform does not parse: line {exc.lineno}: {exc.msg}") from exc
    functions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.args.vararg and not node.args.kwonlyargs:
            required = len(node.args.args) - len(node.args.defaults)
            functions.append((node.name, required))
    code = _DIFF_TEST.format(original=original, functions=functions, probes=", ".join(_PROBES))
    return {"code": code, "name": "behaves like the original", "provenance": "given"}


def transform(code: str, instruction: str, tests: Sequence[TestCase] | None = None, *,
              model: BaseChatModel | str | None = None, sandbox: Sandbox | str | None = None,
              log: str | Path | None = None, **options: Any) -> SolveResult:
    """Rewrite ``code`` as ``instruction`` says, verified to behave the same.

    With ``tests``, they must pass; without, the rewrite is compared against the original on
    generated inputs (the original is the oracle). A rewrite that changes behaviour goes back
    to the fix node with the first input where they differ.
    """
    if not instruction.strip():
        raise ConfigError("transform() needs an instruction")
    checks = list(tests) if tests else [differential_test(code)]
    options.setdefault("generated_tests", False)  # the original is the oracle
    task = TRANSFORM_TASK.format(instruction=instruction.strip(), code=code.rstrip())
    with _sandbox(sandbox, log) as box:
        return _run(task, checks, model=model, box=box, options=options)
