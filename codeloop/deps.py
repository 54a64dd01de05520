"""Where a node gets its model and sandbox: the run's context, else what build_graph was given."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from codeloop.context import RunContext
from codeloop.errors import ConfigError
from codeloop.nodes.model_call import ModelCaller
from codeloop.sandboxes.base import Sandbox

_MAX_CACHED = 256


def context_of(runtime: Any) -> RunContext | None:
    """The run's :class:`RunContext`, or None when the caller gave none."""
    context = getattr(runtime, "context", None)
    if context is None or isinstance(context, RunContext):
        return context
    if isinstance(context, dict):
        return RunContext(**context)
    return RunContext.model_validate(context, from_attributes=True)


def _thread_id() -> str:
    try:
        from langgraph.config import get_config

        return str(get_config().get("configurable", {}).get("thread_id", ""))
    except RuntimeError:  # called outside a graph run
        return ""


@dataclass
class Deps:
    """The model and sandbox a graph's nodes use.

    A model or sandbox named in the run's context wins over the builder's. A model spec
    is resolved once per (spec, thread), so a scripted model's replies continue across
    the nodes of a run and across an interrupt and its resume.
    """

    model: BaseChatModel | None = None
    sandbox: Sandbox | None = None
    structured_output: bool | None = None
    _default_caller: ModelCaller | None = field(default=None, init=False)
    _callers: OrderedDict[tuple[str, str, str], ModelCaller] = field(default_factory=OrderedDict, init=False)
    _sandboxes: dict[str, Sandbox] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        if self.model is not None:
            self._default_caller = ModelCaller(self.model, structured=self.structured_output)

    def caller(self, runtime: Any = None) -> ModelCaller:
        """The model caller for this run."""
        context = context_of(runtime)
        if context is None or not context.model:
            if self._default_caller is None:
                raise ConfigError("no model for this run: pass model= to build_graph() or set 'model' in the context")
            return self._default_caller
        from codeloop.models import make_model

        key = (context.model, context.base_url or "", _thread_id())
        with self._lock:
            caller = self._callers.get(key)
            if caller is None:
                caller = ModelCaller(make_model(context.model, base_url=context.base_url),
                                     structured=self.structured_output)
                self._callers[key] = caller
                while len(self._callers) > _MAX_CACHED:
                    self._callers.popitem(last=False)
            return caller

    def sandbox_for(self, runtime: Any = None) -> Sandbox:
        """The sandbox for this run (one shared instance per backend name)."""
        context = context_of(runtime)
        if context is None or not context.sandbox:
            if self.sandbox is None:
                raise ConfigError("no sandbox for this run: pass sandbox= to build_graph() or set it in the context")
            return self.sandbox
        if self.sandbox is not None and self.sandbox.name == context.sandbox:
            return self.sandbox
        from codeloop.sandboxes.registry import make_sandbox

        with self._lock:
            box = self._sandboxes.get(context.sandbox)
            if box is None:
                box = self._sandboxes[context.sandbox] = make_sandbox(context.sandbox)
            return box
