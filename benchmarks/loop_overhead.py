"""The graph's own overhead per loop iteration, with a scripted model.

Runs a task whose first N-1 replies fail a test and whose last passes, once with a
sandbox that answers instantly (graph overhead alone) and once with the real
LocalSandbox, and prints the time per iteration. Prints a table; asserts nothing.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from codeloop import build_graph, scripted_model
from codeloop.sandboxes.base import ExecutionResult
from codeloop.sandboxes.local import LocalSandbox

ITERATIONS = 5
BAD = "```python\ndef add(a, b):\n    return a - b\n```"
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"


class InstantSandbox:
    """Answers without running anything: what is left is the graph's own cost."""

    name = "instant"

    def run(self, code: str, **kw: Any) -> ExecutionResult:
        # The harness reports no verdict, so every test fails and every iteration runs.
        return ExecutionResult(stdout="", stderr="", exit_code=0, duration_s=0.0)

    async def arun(self, code: str, **kw: Any) -> ExecutionResult:
        return self.run(code, **kw)

    def close(self) -> None:
        pass


def per_iteration(sandbox: Any, repeats: int = 20) -> float:
    samples = []
    for _ in range(repeats):
        graph = build_graph(model=scripted_model([BAD] * (ITERATIONS - 1) + [GOOD]), sandbox=sandbox,
                            max_attempts=ITERATIONS)
        started = time.perf_counter()
        graph.invoke({"task": "Write add(a, b).", "tests": [{"call": "add(2, 3)", "expected": 5}]})
        samples.append((time.perf_counter() - started) / ITERATIONS)
    return statistics.median(samples)


def main() -> None:
    instant = per_iteration(InstantSandbox())
    with LocalSandbox() as box:
        local = per_iteration(box)
    table = Table(title=f"Loop cost per iteration (generate/fix, validate, execute, test), {ITERATIONS} iterations a run")
    table.add_column("sandbox")
    table.add_column("ms per iteration", justify="right")
    table.add_row("instant (graph overhead only)", f"{instant * 1000:.2f}")
    table.add_row("local", f"{local * 1000:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
