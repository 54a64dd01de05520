"""LoggedSandbox: every run of a session appended to a JSONL log (the seed's "log executions")."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeloop.errors import ConfigError
from codeloop.sandboxes.base import ExecutionResult, Language, Sandbox


class LoggedSandbox:
    """Wraps any sandbox and appends one JSON line per run to ``path``.

    Each line: ``time`` (UTC ISO), ``backend``, ``language``, ``code_sha256``, ``code_chars``,
    ``duration_s``, ``exit_code``, ``timed_out``, ``truncated`` and ``resources`` (peak RSS,
    CPU seconds, where the backend measures them). The code itself is not logged, only its hash.
    """

    def __init__(self, inner: Sandbox, path: str | Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError as exc:
            raise ConfigError(f"cannot write the execution log {self.path}: {exc.strerror}") from exc
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # data_path, isolation, image ...

    def _record(self, code: str, language: Language, result: ExecutionResult) -> None:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "backend": result.backend or self.name,
            "language": language,
            "code_sha256": hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest(),
            "code_chars": len(code),
            "duration_s": round(result.duration_s, 6),
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "truncated": result.truncated,
            "resources": result.resources,
        }
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    def run(self, code: str, *, timeout_s: float = 10.0, language: Language = "python",
            files: Mapping[str, str | bytes] | None = None, stdin: str | None = None) -> ExecutionResult:
        """Run through the wrapped sandbox, then log the run."""
        result = self.inner.run(code, timeout_s=timeout_s, language=language, files=files, stdin=stdin)
        self._record(code, language, result)
        return result

    async def arun(self, code: str, *, timeout_s: float = 10.0, language: Language = "python",
                   files: Mapping[str, str | bytes] | None = None, stdin: str | None = None) -> ExecutionResult:
        """Like :meth:`run`, asynchronously."""
        result = await self.inner.arun(code, timeout_s=timeout_s, language=language, files=files, stdin=stdin)
        self._record(code, language, result)
        return result

    def close(self) -> None:
        """Close the wrapped sandbox."""
        self.inner.close()

    def __enter__(self) -> LoggedSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
