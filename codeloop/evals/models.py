"""Models for evals: a real one shared by every task, the dataset's own answers, or scripts per task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from codeloop.errors import ConfigError
from codeloop.evals.datasets import EvalTask
from codeloop.evals.harness import ModelFactory
from codeloop.files import read_json_or_yaml
from codeloop.models import make_model, scripted_model


def reference_factory(task: EvalTask, sample: int) -> BaseChatModel:
    """Answers with the dataset's canonical solution: an offline self-check of the whole pipeline."""
    program = task.reference_program
    if program is None:
        raise ConfigError(f"task {task.task_id} has no canonical solution, so --model reference cannot answer it")
    # The same answer to every request: a fix attempt (after a misleading docstring example) gets it again.
    return scripted_model([f"```python\n{program}\n```"] * 100, source=f"reference:{task.task_id}")


def scripted_factory(path: Path) -> ModelFactory:
    """Replies per task from a JSON/YAML mapping ``task_id -> [reply, ...]`` (``"*"``: every other task)."""
    data: Any = read_json_or_yaml(path, "scripted eval replies")
    if isinstance(data, list):
        data = {"*": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must map task ids to lists of replies")

    def factory(task: EvalTask, sample: int) -> BaseChatModel:
        replies = data.get(task.task_id, data.get("*"))
        if not replies:
            raise ConfigError(f"{path} has no replies for {task.task_id} (and no '*' entry)")
        return scripted_model(list(replies), source=f"{path}:{task.task_id}")

    return factory


def model_factory(spec: str, *, base_url: str | None = None) -> ModelFactory:
    """``reference``, ``scripted:FILE`` or a chat model spec (one model shared by all tasks)."""
    if spec == "reference":
        return reference_factory
    if spec.startswith("scripted:"):
        return scripted_factory(Path(spec.removeprefix("scripted:")))
    shared = make_model(spec, base_url=base_url)
    return lambda task, sample: shared
