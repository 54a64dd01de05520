"""Backends by name: ``local``, ``docker``, ``restricted``, ``e2b``."""

from __future__ import annotations

from typing import Any

from codeloop.errors import ConfigError
from codeloop.sandboxes.base import Sandbox

BACKENDS = ("local", "docker", "restricted", "e2b")


def make_sandbox(backend: str | Sandbox | None = None, **options: Any) -> Sandbox:
    """A sandbox from its name (or the instance itself). Optional SDKs are imported lazily.

    Raises:
        ConfigError: the name is not a known backend.
        MissingDependencyError: the backend's extra is not installed.
    """
    if backend is not None and not isinstance(backend, str):
        return backend
    name = (backend or "local").lower()
    if name == "local":
        from codeloop.sandboxes.local import LocalSandbox

        return LocalSandbox(**options)
    if name == "docker":
        from codeloop.sandboxes.docker import DockerSandbox

        return DockerSandbox(**options)
    if name == "restricted":
        from codeloop.sandboxes.restricted import RestrictedSandbox

        return RestrictedSandbox(**options)
    if name == "e2b":
        from codeloop.sandboxes.e2b import E2BSandbox

        return E2BSandbox(**options)
    raise ConfigError(f"unknown sandbox backend {backend!r}: choose one of {', '.join(BACKENDS)}")
