"""Summaries and reports of an eval run: summary.json, report.md, a self-contained report.html."""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from codeloop.errors import ConfigError
from codeloop.evals.passk import mean, pass_at_k


def summarize(rows: list[dict[str, Any]], run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's metrics from its result rows (one row per task and sample).

    A run with generated tests both on and off also gets ``by_generated_tests``: the same
    metrics for each half, compared on the same tasks.
    """
    summary = _metrics(rows, run)
    modes = {bool(r.get("generated_tests")) for r in rows}
    if len(modes) == 2:
        summary["by_generated_tests"] = {
            label: {k: v for k, v in _metrics([r for r in rows if bool(r.get("generated_tests")) == flag]).items()
                    if k in COMPARED}
            for label, flag in (("off", False), ("on", True))
        }
    return summary


def _metrics(rows: list[dict[str, Any]], run: dict[str, Any] | None = None) -> dict[str, Any]:
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_task[row["task_id"]].append(row)
    n_min = min((len(v) for v in by_task.values()), default=0)
    pass_k = {}
    for k in range(1, n_min + 1):
        pass_k[str(k)] = round(mean([pass_at_k(len(v), sum(r["passed"] for r in v), k) for v in by_task.values()]), 6)
    first_failed = [r for r in rows if not r["passed_first_attempt"]]
    repaired = [r for r in first_failed if r["passed"]]
    usage = [r.get("usage") or {} for r in rows]
    max_attempts = max((r.get("attempts", 0) for r in rows), default=0)
    passed_by_attempt = {
        str(i): round(sum(1 for r in rows if r["passed"] and 0 < r.get("attempts", 0) <= i) / len(rows), 6)
        for i in range(1, max_attempts + 1)
    } if rows else {}
    return {
        "run": run or {},
        "tasks": len(by_task),
        "samples": len(rows),
        "passed": sum(1 for v in by_task.values() if any(r["passed"] for r in v)),
        "passed_samples": sum(1 for r in rows if r["passed"]),
        "pass@1": round(mean([sum(r["passed"] for r in v) / len(v) for v in by_task.values()]), 6),
        "pass@1_first_attempt": round(
            mean([sum(r["passed_first_attempt"] for r in v) / len(v) for v in by_task.values()]), 6),
        "pass@k": pass_k,
        "repair_rate": round(len(repaired) / len(first_failed), 6) if first_failed else 0.0,
        "attempts_histogram": {str(k): v for k, v in sorted(Counter(r.get("attempts", 0) for r in rows).items())},
        "pass_rate_by_attempt": passed_by_attempt,
        "failure_categories": dict(Counter(r["category"] or "unknown" for r in rows if not r["passed"])),
        "model_calls": sum(int(u.get("calls", 0)) for u in usage),
        "input_tokens": sum(int(u.get("input_tokens", 0)) for u in usage),
        "output_tokens": sum(int(u.get("output_tokens", 0)) for u in usage),
        "model_seconds": round(sum(float(u.get("model_seconds", 0.0)) for u in usage), 3),
        "wall_s_total": round(sum(r.get("wall_s", 0.0) for r in rows), 3),
        "wall_s_mean": round(mean([r.get("wall_s", 0.0) for r in rows]), 4),
    }


def write_reports(out_dir: Path, rows: list[dict[str, Any]], run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write summary.json, report.md and report.html; return the summary."""
    summary = summarize(rows, run)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (out_dir / "report.md").write_text(render_markdown(summary, rows))
    (out_dir / "report.html").write_text(render_html(summary, rows))
    return summary


def _headline(summary: dict[str, Any]) -> list[tuple[str, str]]:
    run = summary.get("run", {})
    return [
        ("dataset", str(run.get("dataset", ""))),
        ("model", str(run.get("model", ""))),
        ("sandbox", str(run.get("sandbox", ""))),
        ("feedback", str(run.get("feedback", ""))),
        ("tasks / samples", f"{summary['tasks']} / {summary['samples']}"),
        ("pass@1 (after the loop)", f"{summary['pass@1']:.3f}"),
        ("pass@1 (first attempt)", f"{summary['pass@1_first_attempt']:.3f}"),
        *[(f"pass@{k}", f"{v:.3f}") for k, v in summary["pass@k"].items() if k != "1"],
        ("repair rate", f"{summary['repair_rate']:.3f}"),
        ("model calls", str(summary["model_calls"])),
        ("tokens in / out", f"{summary['input_tokens']} / {summary['output_tokens']}"),
        ("wall time (sum, mean)", f"{summary['wall_s_total']:.1f}s, {summary['wall_s_mean']:.2f}s"),
    ]


def render_markdown(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The report as Markdown."""
    lines = ["# codeloop eval report", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in _headline(summary)]
    if "by_generated_tests" in summary:
        off, on = summary["by_generated_tests"]["off"], summary["by_generated_tests"]["on"]
        lines += ["", "## Generated tests: off vs on (same tasks)", "", "| metric | off | on |", "| --- | --- | --- |"]
        lines += [f"| {k} | {off[k]} | {on[k]} |" for k in COMPARED if k in off]
    lines += ["", "## Attempts", "", "| attempts | samples |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in summary["attempts_histogram"].items()]
    lines += ["", "## Failures", "", "| category | samples |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in sorted(summary["failure_categories"].items())]
    lines += ["", "## Tasks", "", "| task | sample | passed | first attempt | attempts | tokens | wall s |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in sorted(rows, key=lambda r: (r["task_id"], r["sample"])):
        tokens = (r.get("usage") or {}).get("input_tokens", 0) + (r.get("usage") or {}).get("output_tokens", 0)
        lines.append(f"| {r['task_id']} | {r['sample']} | {'yes' if r['passed'] else 'no'} | "
                     f"{'yes' if r['passed_first_attempt'] else 'no'} | {r.get('attempts', 0)} | {tokens} | "
                     f"{r.get('wall_s', 0):.2f} |")
    return "\n".join(lines) + "\n"


def _bars(title: str, items: list[tuple[str, float]], fmt: str = "{:.0f}") -> str:
    """A horizontal bar chart as inline SVG (no scripts, no external files)."""
    if not items:
        return f"<h2>{html.escape(title)}</h2><p>no data</p>"
    top = max(v for _, v in items) or 1.0
    height = 22 * len(items) + 10
    parts = [f'<h2>{html.escape(title)}</h2><svg width="720" height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = 5 + 22 * i
        width = 480 * value / top
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{html.escape(label[:28])}</text>'
                     f'<rect x="200" y="{y}" width="{width:.1f}" height="18" fill="#5b6ee1"></rect>'
                     f'<text x="{205 + width:.1f}" y="{y + 14}" font-size="12">{html.escape(fmt.format(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The report as one self-contained HTML page with SVG charts."""
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _headline(summary))
    if "by_generated_tests" in summary:
        off, on = summary["by_generated_tests"]["off"], summary["by_generated_tests"]["on"]
        table += "<tr><th>generated tests</th><td>off / on</td></tr>" + "".join(
            f"<tr><th>{html.escape(k)}</th><td>{off[k]} / {on[k]}</td></tr>" for k in COMPARED if k in off)
    per_task = sorted(rows, key=lambda r: (r["task_id"], r["sample"]))[:200]
    charts = [
        _bars("Attempts histogram", [(f"{k} attempt(s)", float(v)) for k, v in summary["attempts_histogram"].items()]),
        _bars("Pass rate by attempt", [(f"by attempt {k}", v) for k, v in summary["pass_rate_by_attempt"].items()],
              "{:.2f}"),
        _bars("Wall time per task (s)", [(f"{r['task_id']}#{r['sample']}", float(r.get("wall_s", 0))) for r in per_task],
              "{:.2f}"),
        _bars("Tokens per task", [(f"{r['task_id']}#{r['sample']}",
                                   float((r.get("usage") or {}).get("input_tokens", 0)
                                         + (r.get("usage") or {}).get("output_tokens", 0))) for r in per_task]),
    ]
    return ("<!doctype html><html><head><meta charset='utf-8'><title>codeloop eval report</title>"
            "<style>body{font-family:sans-serif;max-width:760px;margin:2em auto}th{text-align:left;padding-right:2em}"
            "</style></head><body><h1>codeloop eval report</h1>"
            f"<table>{table}</table>{''.join(charts)}</body></html>\n")


def load_summary(run_dir: Path) -> dict[str, Any]:
    """A run directory's summary (recomputed from results.jsonl when summary.json is missing)."""
    path = run_dir / "summary.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    results = run_dir / "results.jsonl"
    if not results.exists():
        raise ConfigError(f"{run_dir} is not an eval run directory (no summary.json or results.jsonl)")
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return summarize(rows)


COMPARED = ("tasks", "samples", "pass@1", "pass@1_first_attempt", "repair_rate", "model_calls", "input_tokens",
            "output_tokens", "wall_s_total")


def compare(first: Path, second: Path) -> list[tuple[str, Any, Any, str]]:
    """Rows of (metric, run 1, run 2, change) for two run directories."""
    a, b = load_summary(first), load_summary(second)
    rows = []
    for key in COMPARED:
        x, y = a.get(key, 0), b.get(key, 0)
        change = f"{y - x:+.3f}" if isinstance(x, float) or isinstance(y, float) else f"{y - x:+d}"
        rows.append((key, x, y, change))
    return rows
