"""Sandbox backends: every one satisfies :class:`Sandbox` and returns :class:`ExecutionResult`."""

from codeloop.sandboxes.base import ExecutionResult, Language, Sandbox, SandboxLimits
from codeloop.sandboxes.local import LocalSandbox

__all__ = ["ExecutionResult", "Language", "LocalSandbox", "Sandbox", "SandboxLimits"]
