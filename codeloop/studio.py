"""The graph LangGraph Studio serves (``langgraph dev``; see langgraph.json).

This is an edge: it reads the environment. Each run can choose its model, sandbox,
attempts, policy and approval in Studio's context form; empty fields fall back to
``CODELOOP_MODEL`` / ``OPENAI_BASE_URL`` / ``CODELOOP_SANDBOX`` / ``CODELOOP_APPROVAL``.
The served graph has no checkpointer of its own: the server supplies one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field, create_model

from codeloop.context import RunContext
from codeloop.graph import build_graph
from codeloop.models import make_model


def _default_model() -> Any:
    env = os.environ
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return make_model(None)
    return None  # each run must name one in its context


def studio_context(env: Mapping[str, str]) -> type[RunContext]:
    """RunContext whose defaults come from the environment, so Studio's form shows them."""
    defaults: dict[str, Any] = {
        "model": env.get("CODELOOP_MODEL") or None,
        "base_url": env.get("OPENAI_BASE_URL") or None,
        "sandbox": env.get("CODELOOP_SANDBOX") or None,
        "max_attempts": int(env["CODELOOP_MAX_ATTEMPTS"]) if env.get("CODELOOP_MAX_ATTEMPTS") else None,
        "policy": env.get("CODELOOP_POLICY") or None,
        "approval": _flag(env.get("CODELOOP_APPROVAL")),
    }
    fields: dict[str, Any] = {}
    for name, value in defaults.items():
        info = RunContext.model_fields[name]
        fields[name] = (info.annotation, Field(value, description=info.description, **_bounds(name)))
    model: type[RunContext] = create_model("StudioContext", __base__=RunContext, **fields)
    return model


def _bounds(name: str) -> dict[str, Any]:
    return {"ge": 1, "le": 50} if name == "max_attempts" else {}


def _flag(value: str | None) -> bool | None:
    if not value:
        return None
    return value.lower() in ("1", "true", "yes", "on")


def make_graph(env: Mapping[str, str] | None = None) -> Any:
    """Build the Studio graph from the environment."""
    env = os.environ if env is None else env
    return build_graph(
        model=_default_model(),
        sandbox=env.get("CODELOOP_SANDBOX", "local"),
        max_attempts=int(env.get("CODELOOP_MAX_ATTEMPTS", "4")),
        policy=env.get("CODELOOP_POLICY", "standard"),  # type: ignore[arg-type]
        approval=bool(_flag(env.get("CODELOOP_APPROVAL"))),
        context_schema=studio_context(env),
    )


graph = make_graph()
