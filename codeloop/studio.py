"""The graph LangGraph Studio serves (``langgraph dev``; see langgraph.json).

This is an edge: it reads the environment. Each run can choose its model, sandbox,
attempts, policy and approval in Studio's context form; empty fields fall back to
``CODELOOP_MODEL`` / ``OPENAI_BASE_URL`` / ``CODELOOP_SANDBOX`` / ``CODELOOP_APPROVAL``.
The served graph has no checkpointer of its own: the server supplies one.
"""

from __future__ import annotations

import os
from typing import Any

from codeloop.context import RunContext
from codeloop.graph import build_graph
from codeloop.models import make_model


def _default_model() -> Any:
    env = os.environ
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return make_model(None)
    return None  # each run must name one in its context


def make_graph() -> Any:
    """Build the Studio graph from the environment."""
    env = os.environ
    return build_graph(
        model=_default_model(),
        sandbox=env.get("CODELOOP_SANDBOX", "local"),
        max_attempts=int(env.get("CODELOOP_MAX_ATTEMPTS", "4")),
        policy=env.get("CODELOOP_POLICY", "standard"),  # type: ignore[arg-type]
        approval=env.get("CODELOOP_APPROVAL", "").lower() in ("1", "true", "yes", "on"),
        context_schema=RunContext,
    )


graph = make_graph()
