"""build_graph(): the generate → validate → execute → test → fix loop as a LangGraph graph."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from codeloop.context import RunContext
from codeloop.deps import Deps
from codeloop.errors import ConfigError
from codeloop.nodes.approve import approve
from codeloop.nodes.execute import ExecuteNode
from codeloop.nodes.finalize import finalize
from codeloop.nodes.fix import FixNode
from codeloop.nodes.gen_tests import GenerateTestsNode
from codeloop.nodes.generate import GenerateNode
from codeloop.nodes.model_call import is_transient
from codeloop.nodes.policy import PolicyName
from codeloop.nodes.prepare import PrepareNode, check_max_attempts
from codeloop.nodes.test import TestNode
from codeloop.nodes.validate import ValidateNode
from codeloop.sandboxes.base import Sandbox
from codeloop.sandboxes.registry import make_sandbox
from codeloop.state import InputState, LoopState, OutputState

PREPARE: Final = "prepare"
GENERATE_TESTS: Final = "generate_tests"
GENERATE: Final = "generate"
VALIDATE: Final = "validate"
APPROVE: Final = "approve"
EXECUTE: Final = "execute"
TEST: Final = "test"
FIX: Final = "fix"
FINALIZE: Final = "finalize"
#: Nodes a caller may replace through ``build_graph(nodes={...})``.
NODE_NAMES = (PREPARE, GENERATE_TESTS, GENERATE, VALIDATE, APPROVE, EXECUTE, TEST, FIX, FINALIZE)

Node = Callable[[LoopState], dict[str, Any]]

#: Model calls are retried on transient failures (429, 5xx, resets, timeouts) only.
DEFAULT_MODEL_RETRY = RetryPolicy(initial_interval=0.5, backoff_factor=2.0, max_interval=30.0, max_attempts=4,
                                  retry_on=is_transient)


def _fix_or_finish(state: LoopState) -> Literal["fix", "finalize"]:
    return FIX if state.get("attempts", 0) < state.get("max_attempts", 1) else FINALIZE


def route_after_prepare(state: LoopState) -> Literal["generate_tests", "generate"]:
    """Generated tests first, when they are on for this run."""
    return GENERATE_TESTS if state.get("generated_tests") else GENERATE


def route_after_generate(state: LoopState) -> Literal["validate", "fix", "finalize"]:
    """Code came back: validate it; no code: another attempt, if any are left."""
    return VALIDATE if state.get("ok") else _fix_or_finish(state)


route_after_fix = route_after_generate


def route_after_validate(state: LoopState) -> Literal["approve", "execute", "fix", "finalize"]:
    """Valid code runs (after a human approves it, when approval is on); rejected code goes back."""
    if not state.get("ok"):
        return _fix_or_finish(state)
    return APPROVE if state.get("approval") else EXECUTE


def route_after_approve(state: LoopState) -> Literal["execute", "fix", "finalize"]:
    """Approved code runs; a rejection goes to the fix node with the reviewer's reason."""
    return EXECUTE if state.get("ok") else _fix_or_finish(state)


def route_after_execute(state: LoopState) -> Literal["test", "fix", "finalize"]:
    """A clean run goes on to the tests (or ends the loop when there are none)."""
    if not state.get("ok"):
        return _fix_or_finish(state)
    return TEST if state.get("tests") else FINALIZE


def route_after_test(state: LoopState) -> Literal["fix", "finalize"]:
    """All tests passed: done. Otherwise fix, while attempts remain."""
    return FINALIZE if state.get("ok") else _fix_or_finish(state)


def build_graph(
    model: BaseChatModel | str | None = None,
    sandbox: Sandbox | str | None = None,
    *,
    max_attempts: int = 4,
    policy: PolicyName = "standard",
    approval: bool = False,
    generated_tests: bool | None = None,
    timeout_s: float = 10.0,
    test_timeout_s: float = 5.0,
    max_code_chars: int = 100_000,
    nodes: Mapping[str, Node] | None = None,
    model_retry: RetryPolicy | None = DEFAULT_MODEL_RETRY,
    structured_output: bool | None = None,
    checkpointer: Any = None,
    context_schema: type[RunContext] = RunContext,
    name: str = "codeloop",
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the loop.

    Args:
        model: any LangChain chat model, or a spec for :func:`codeloop.models.make_model`;
            None: each run names its model in the context (``context={"model": ...}``).
        sandbox: a :class:`~codeloop.sandboxes.Sandbox` or a backend name (default ``local``).
        max_attempts: code versions to try before giving up (an input ``max_attempts`` overrides it).
        policy: validation preset: ``off``, ``standard`` or ``strict``.
        approval: pause before running any generated code, for a human (needs a checkpointer).
        generated_tests: ask the model for extra tests (None: only when a run has no tests).
        timeout_s: wall-clock limit of the program run.
        test_timeout_s: wall-clock limit per test.
        nodes: replacements by node name (see :data:`NODE_NAMES`); each is ``state -> update``.
        model_retry: the retry policy of the model nodes (None: no retries).
        structured_output: ask for code + rationale through tool calling (None: where the
            model supports it, falling back to plain text where the endpoint does not).
        checkpointer: a LangGraph checkpointer, for durable, resumable runs.
        context_schema: the per-run context class (Studio shows its fields).

    Example:
        >>> graph = build_graph(model=chat_model, sandbox="local", max_attempts=4)  # doctest: +SKIP
        >>> graph.invoke({"task": "Write add(a, b).", "tests": [{"call": "add(2, 3)", "expected": 5}]})["status"]
        'passed'
    """
    check_max_attempts(max_attempts)
    if policy not in ("off", "standard", "strict"):
        raise ConfigError(f"policy must be 'off', 'standard' or 'strict', got {policy!r}")
    for label, value in (("timeout_s", timeout_s), ("test_timeout_s", test_timeout_s)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
            raise ConfigError(f"{label} must be a positive number of seconds, got {value!r}")
    replacements = dict(nodes or {})
    unknown = set(replacements) - set(NODE_NAMES)
    if unknown:
        raise ConfigError(f"unknown node name(s) {sorted(unknown)}: replaceable nodes are {', '.join(NODE_NAMES)}")
    for node_name, node in replacements.items():
        if not callable(node):
            raise ConfigError(f"the replacement for node {node_name!r} is not callable")

    chat = _resolve_model(model) if model is not None else None
    needs_sandbox = EXECUTE not in replacements or TEST not in replacements
    deps = Deps(model=chat, sandbox=make_sandbox(sandbox) if needs_sandbox else None,
                structured_output=structured_output)
    defaults: dict[str, Node] = {
        PREPARE: PrepareNode(max_attempts=max_attempts, policy=policy, approval=approval,
                             generated_tests=generated_tests),
        GENERATE_TESTS: GenerateTestsNode(deps, policy=policy),
        GENERATE: GenerateNode(deps),
        VALIDATE: ValidateNode(policy=policy, max_code_chars=max_code_chars),
        APPROVE: approve,
        EXECUTE: ExecuteNode(deps, timeout_s=timeout_s),
        TEST: TestNode(deps, per_test_timeout_s=test_timeout_s),
        FIX: FixNode(deps),
        FINALIZE: finalize,
    }
    chosen = {**defaults, **replacements}

    builder = StateGraph(LoopState, context_schema=context_schema, input_schema=InputState, output_schema=OutputState)
    for node_name in NODE_NAMES:
        retry = model_retry if node_name in (GENERATE_TESTS, GENERATE, FIX) else None
        action: Any = chosen[node_name]  # any callable state -> update; LangGraph's overloads want its own protocols
        builder.add_node(node_name, action, retry_policy=retry)
    builder.add_edge(START, PREPARE)
    builder.add_conditional_edges(PREPARE, route_after_prepare)
    builder.add_edge(GENERATE_TESTS, GENERATE)
    builder.add_conditional_edges(GENERATE, route_after_generate)
    builder.add_conditional_edges(VALIDATE, route_after_validate)
    builder.add_conditional_edges(APPROVE, route_after_approve)
    builder.add_conditional_edges(EXECUTE, route_after_execute)
    builder.add_conditional_edges(TEST, route_after_test)
    builder.add_conditional_edges(FIX, route_after_fix)
    builder.add_edge(FINALIZE, END)
    return builder.compile(checkpointer=checkpointer, name=name)


def _resolve_model(model: BaseChatModel | str | None) -> BaseChatModel:
    from codeloop.models import make_model

    return make_model(model)
