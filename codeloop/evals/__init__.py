"""The eval harness: datasets, grading, pass@k, reports."""

from codeloop.evals.datasets import EvalTask, load_dataset
from codeloop.evals.harness import EvalConfig, run_eval
from codeloop.evals.passk import pass_at_k
from codeloop.evals.report import compare, summarize, write_reports

__all__ = ["EvalConfig", "EvalTask", "compare", "load_dataset", "pass_at_k", "run_eval", "summarize", "write_reports"]
