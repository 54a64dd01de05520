"""The codeloop exception tree.

Failing user code is never an exception: it is data in the state. These errors
mean codeloop itself cannot do its job, and each message says how to fix it::

    CodeloopError
    ├── ConfigError                 bad options or environment, caught at the edge
    ├── ModelError                  the model call failed after retries
    └── SandboxError                the sandbox itself is broken
        ├── SandboxUnavailableError daemon down, image missing, server died
        └── MissingDependencyError  an optional SDK is not installed
"""

from __future__ import annotations


class CodeloopError(Exception):
    """Base class of every error codeloop raises on purpose."""


class ConfigError(CodeloopError, ValueError):
    """Invalid configuration or input, detected before anything runs."""


class ModelError(CodeloopError):
    """The model call failed after retries, or the model is unusable.

    Attributes:
        endpoint: the base URL or model name that failed, when known.
        status_code: the last HTTP status, when there was one.
        transient: True when trying again may succeed (429, 5xx, resets, timeouts).
        retry_after: seconds the server asked to wait, when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status_code: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status_code = status_code
        self.transient = transient
        self.retry_after = retry_after


class SandboxError(CodeloopError):
    """The sandbox could not run the code at all (not: the code failed)."""


class SandboxUnavailableError(SandboxError):
    """The sandbox backend is not reachable or not set up."""


class MissingDependencyError(SandboxError, ImportError):
    """An optional dependency of a backend is not installed.

    Attributes:
        extra: the pip extra that installs it, e.g. ``docker``.
    """

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed: pip install 'codeloop[{extra}]'")
        self.extra = extra
