"""codeloop: turn a programming task into code that has run and passed its tests.

Example:
    >>> from codeloop import build_graph
    >>> graph = build_graph(model=chat_model, sandbox="local")  # doctest: +SKIP
    >>> graph.invoke({"task": "Write add(a, b).", "tests": [{"call": "add(2, 3)", "expected": 5}]})  # doctest: +SKIP
"""

from codeloop.agent import SolveResult, analyze, compute, solve, transform
from codeloop.errors import (
    CodeloopError,
    ConfigError,
    MissingDependencyError,
    ModelError,
    SandboxError,
    SandboxUnavailableError,
)
from codeloop.graph import NODE_NAMES, build_graph
from codeloop.models import make_model, scripted_model
from codeloop.sandboxes.base import ExecutionResult, Sandbox
from codeloop.state import LoopState, TestCase, TestResult

__all__ = [
    "NODE_NAMES",
    "CodeloopError",
    "ConfigError",
    "ExecutionResult",
    "LoopState",
    "MissingDependencyError",
    "ModelError",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailableError",
    "SolveResult",
    "TestCase",
    "TestResult",
    "analyze",
    "build_graph",
    "compute",
    "make_model",
    "scripted_model",
    "solve",
    "transform",
]
