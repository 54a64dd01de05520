"""RestrictedSandbox: RestrictedPython code, run in a LocalSandbox child process."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from codeloop.errors import ConfigError, MissingDependencyError
from codeloop.sandboxes.base import ExecutionResult, Language, SandboxLimits
from codeloop.sandboxes.local import Isolation, LocalSandbox


class RestrictedSandbox:
    """Python compiled with RestrictedPython, run in a separate, limited child process.

    What it protects against: at the Python level the code gets only safe builtins, no
    ``open``/``eval``/``exec``, imports from a short allow-list of pure modules
    (``math``, ``json``, ``re``, ``collections`` ...), no attribute whose name starts with an
    underscore, no frame, code or module objects; and because it runs in a
    :class:`LocalSandbox` child (bubblewrap, rlimits, hard timeout) a ``while True: pass``
    or a memory bomb cannot hurt the caller. What it does not protect against: bugs in
    CPython or in RestrictedPython itself; it is a second fence, and the process
    isolation under it is the boundary. It runs Python only (no bash).

    Example:
        >>> with RestrictedSandbox() as sandbox:
        ...     sandbox.run("import math\\nprint(math.factorial(5))").stdout
        '120\\n'
    """

    name = "restricted"

    def __init__(self, *, limits: SandboxLimits | None = None, use_bubblewrap: bool | None = None) -> None:
        """Configure the sandbox; its server starts on the first run.

        Raises:
            MissingDependencyError: RestrictedPython is not installed.
        """
        try:
            import RestrictedPython  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError("RestrictedPython", "restricted") from exc
        # The server runs this interpreter, whose site-packages hold RestrictedPython.
        self._local = LocalSandbox(limits=limits, python=sys.executable, site_packages=True,
                                   use_bubblewrap=use_bubblewrap, _mode="restricted",
                                   _preload=("RestrictedPython", "RestrictedPython.Guards"))
        self.limits = self._local.limits

    @property
    def isolation(self) -> Isolation:
        """The process isolation underneath (see :class:`LocalSandbox`)."""
        return self._local.isolation

    def run(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Run ``code`` restricted; see :class:`~codeloop.sandboxes.Sandbox`."""
        if language != "python":
            raise ConfigError(f"language {language!r} is not supported: the restricted sandbox runs Python only "
                              "(use 'local' or 'docker' for bash)")
        result = self._local.run(code, timeout_s=timeout_s, files=files, stdin=stdin)
        return _renamed(result)

    async def arun(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Like :meth:`run`, without blocking the event loop."""
        if language != "python":
            raise ConfigError(f"language {language!r} is not supported: the restricted sandbox runs Python only "
                              "(use 'local' or 'docker' for bash)")
        return _renamed(await self._local.arun(code, timeout_s=timeout_s, files=files, stdin=stdin))

    def close(self) -> None:
        """Stop the server underneath."""
        self._local.close()

    def __enter__(self) -> RestrictedSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _renamed(result: ExecutionResult) -> ExecutionResult:
    from dataclasses import replace

    return replace(result, backend=RestrictedSandbox.name)
