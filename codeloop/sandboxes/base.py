"""The sandbox contract: one Protocol, one result type, and a few plain helpers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["python", "bash"]

#: Exit code the CLI uses for a run that was killed by its timeout (as coreutils' timeout).
TIMEOUT_EXIT_CODE = 124


class SandboxLimits(BaseModel):
    """Resource limits every backend enforces on each run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory_mb: int = Field(512, gt=0, description="Address-space (or container memory) cap per run.")
    max_output_bytes: int = Field(256 * 1024, gt=0, description="Bytes of stdout and of stderr kept per run.")
    max_file_mb: int = Field(64, gt=0, description="Largest file a run may write.")
    disk_mb: int = Field(256, gt=0, description="Total size of the writable work area.")
    max_processes: int = Field(64, gt=0, description="Processes a run may have at once.")
    max_open_files: int = Field(256, gt=0, description="Open file descriptors per process.")


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What one sandbox run produced. Failing code is data here, never an exception.

    Attributes:
        stdout: captured standard output (capped, see ``truncated``).
        stderr: captured standard error (capped).
        exit_code: the process exit status, or None when the run was killed.
        duration_s: wall time of the run.
        timed_out: True when the wall-clock timeout killed the run.
        truncated: True when output beyond the cap was dropped.
        backend: name of the backend that ran the code.
        resources: what the run used, where the backend can tell (``max_rss_kb``, ``cpu_s``).
    """

    stdout: str
    stderr: str
    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    truncated: bool = False
    backend: str = ""
    resources: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the program ran to completion with exit status 0."""
        return self.exit_code == 0 and not self.timed_out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy, for the graph state."""
        return asdict(self)


@runtime_checkable
class Sandbox(Protocol):
    """Runs untrusted code and reports what happened.

    A third-party backend needs nothing from codeloop: any object with these
    methods is a sandbox. ``run`` raises only when the sandbox itself is broken
    (:class:`~codeloop.errors.SandboxError`); failing code is an ``ExecutionResult``.
    """

    name: str

    def run(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult: ...

    async def arun(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult: ...

    def close(self) -> None: ...


def check_run_args(code: object, timeout_s: object, language: object, files: Mapping[str, Any] | None) -> None:
    """Reject arguments no backend can run, with a message that says why.

    Raises:
        ConfigError: the code is not text, the timeout is not a positive finite
            number, the language is unknown, or a file name escapes the work dir.
    """
    from codeloop.errors import ConfigError

    if not isinstance(code, str):
        raise ConfigError(f"code must be a str, got {type(code).__name__}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ConfigError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if language not in ("python", "bash"):
        raise ConfigError(f"language must be 'python' or 'bash', got {language!r}")
    for name in files or {}:
        parts = str(name).split("/")
        if not name or str(name).startswith("/") or ".." in parts or "" in parts:
            raise ConfigError(f"file name {name!r} must be a relative path inside the work dir")


def encode_files(files: Mapping[str, str | bytes] | None) -> dict[str, dict[str, str]]:
    """Files for a JSON request to a sandbox runner: text as ``t``, bytes as latin-1 ``b``."""
    return {name: ({"b": data.decode("latin-1")} if isinstance(data, bytes) else {"t": data})
            for name, data in (files or {}).items()}


def truncate_note(dropped: int) -> str:
    """The marker appended to output that hit the cap."""
    return f"\n[codeloop: output truncated, {dropped} more bytes dropped]\n"
