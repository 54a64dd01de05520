"""Median and p95 latency of one trivial run per sandbox backend, next to the bare-spawn floor.

Everything is measured in this one run on this machine, so the ratios mean something on
a noisy 2-core box where absolute milliseconds do not. Prints a table; asserts nothing.

    python benchmarks/sandbox_latency.py [--runs 60]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from codeloop.sandboxes.local import LocalSandbox, default_python


def measure(fn: Callable[[], object], runs: int, warmup: int = 3, gap_s: float = 0.0) -> list[float]:
    """Time ``fn`` ``runs`` times; ``gap_s`` of untimed idle after each run (lets a pool refill)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        time.sleep(gap_s)
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    python = default_python()
    rows: list[tuple[str, list[float]]] = []

    def floor() -> None:
        subprocess.run([python, "-I", "-c", "print(1)"], capture_output=True, check=True)

    def floor_pass() -> None:
        subprocess.run([python, "-c", "pass"], capture_output=True, check=True)

    rows.append((f"floor: {python} -I -c 'print(1)'", measure(floor, args.runs)))
    rows.append((f"floor: {python} -c pass", measure(floor_pass, args.runs)))

    for label, options in (("local (bubblewrap)", {}), ("local (no bubblewrap)", {"use_bubblewrap": False})):
        try:
            with LocalSandbox(**options) as box:  # type: ignore[arg-type]
                rows.append((label, measure(lambda box=box: box.run("print(1)"), args.runs)))
        except Exception as exc:
            print(f"{label}: skipped ({exc})")

    try:
        from codeloop.sandboxes.restricted import RestrictedSandbox

        with RestrictedSandbox() as rbox:
            rows.append(("restricted", measure(lambda: rbox.run("print(1)"), args.runs)))
    except Exception as exc:
        print(f"restricted: skipped ({exc})")

    try:
        from codeloop.sandboxes.docker import DockerSandbox, docker_available

        why = docker_available()
        if why:
            raise RuntimeError(why)
        with DockerSandbox() as dbox:
            runs = max(10, args.runs // 2)
            rows.append(("docker (warm: a pooled container is ready)", measure(lambda: dbox.run("print(1)"), runs, gap_s=0.4)))
            rows.append(("docker (back to back: pool refill included)", measure(lambda: dbox.run("print(1)"), runs)))
            fresh = dbox.fresh_container_run
            rows.append(("docker (fresh containers.run)", measure(lambda: fresh("print(1)"), max(10, args.runs // 4))))
    except Exception as exc:
        print(f"docker: skipped ({exc})")

    base = statistics.median(rows[0][1])
    table = Table(title=f"Sandbox latency, {args.runs} runs of print(1)")
    for col in ("backend", "median ms", "p95 ms", "x floor"):
        table.add_column(col, justify="right" if col != "backend" else "left")
    for label, samples in rows:
        med = statistics.median(samples)
        table.add_row(label, f"{med * 1000:.1f}", f"{p95(samples) * 1000:.1f}", f"{med / base:.2f}")
    fresh_rows = [s for label, s in rows if "fresh" in label]
    warm_rows = [s for label, s in rows if "warm" in label]
    Console().print(table)
    if fresh_rows and warm_rows:
        ratio = statistics.median(warm_rows[0]) / statistics.median(fresh_rows[0])
        print(f"docker warm / fresh containers.run: {ratio:.2f}x")


if __name__ == "__main__":
    main()
