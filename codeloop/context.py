"""The per-run context: what LangGraph Studio (or any caller) chooses for one run.

Passed as ``graph.invoke(inputs, context={...})`` or from Studio's context form. Every
field is optional: an empty one falls back to what ``build_graph`` was given.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from codeloop.sandboxes.registry import BACKENDS

BackendName = Literal["local", "docker", "restricted", "e2b"]
assert set(BACKENDS) == {"local", "docker", "restricted", "e2b"}


class RunContext(BaseModel):
    """Choices for one run of the codeloop graph."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(
        None, description="Chat model: openai:NAME, a bare model name, or scripted:FILE. Empty: the graph's default."
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint for the model (e.g. a local vLLM).")
    sandbox: BackendName | None = Field(None, description="Where the code runs: local, docker, restricted or e2b.")
    max_attempts: int | None = Field(None, ge=1, le=50, description="Code versions to try before giving up.")
    policy: Literal["off", "standard", "strict"] | None = Field(
        None, description="Validation preset: off, standard (the default) or strict."
    )
    generated_tests: bool | None = Field(
        None, description="Ask the model for extra tests from the task (default: only when no tests are given)."
    )
    approval: bool | None = Field(
        None, description="Pause before any generated code runs, for a human to approve, reject or edit it."
    )
