"""Sandbox backends: every one satisfies :class:`Sandbox` and returns :class:`ExecutionResult`.

Optional SDKs (docker-py, RestrictedPython, e2b) are imported only when a backend is used,
and a missing one raises :class:`~codeloop.errors.MissingDependencyError` naming its extra.
"""

from codeloop.sandboxes.base import ExecutionResult, Language, Sandbox, SandboxLimits
from codeloop.sandboxes.docker import DockerSandbox
from codeloop.sandboxes.e2b import E2BSandbox
from codeloop.sandboxes.local import LocalSandbox
from codeloop.sandboxes.registry import BACKENDS, make_sandbox
from codeloop.sandboxes.restricted import RestrictedSandbox

__all__ = [
    "BACKENDS",
    "DockerSandbox",
    "E2BSandbox",
    "ExecutionResult",
    "Language",
    "LocalSandbox",
    "RestrictedSandbox",
    "Sandbox",
    "SandboxLimits",
    "make_sandbox",
]
