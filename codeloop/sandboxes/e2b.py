"""E2BSandbox: Python and bash in E2B's cloud micro-VMs, mapped onto ExecutionResult."""

from __future__ import annotations

import asyncio
import os
import shlex
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from codeloop.errors import MissingDependencyError, SandboxUnavailableError
from codeloop.sandboxes.base import ExecutionResult, Language, SandboxLimits, check_run_args, truncate_note

#: ``timeout`` exits with this when it had to stop the program.
_TIMEOUT_STATUS = 124
_RENEWABLE = ("SandboxNotFoundException", "NotFoundException", "SandboxNotRunningException")


def _sdk() -> Any:
    try:
        from e2b_code_interpreter import Sandbox
    except ImportError as exc:
        raise MissingDependencyError("e2b-code-interpreter", "e2b") from exc
    return Sandbox


class E2BSandbox:
    """Runs code in an E2B cloud sandbox, one fresh process and work dir per run.

    One E2B sandbox is created on first use and reused across a loop's attempts
    (creating one takes seconds); when it has expired it is created again, once per
    run. Each run writes its files to a fresh directory, runs ``python3``/``bash``
    under ``timeout`` and ``ulimit`` there, and removes the directory. Internet access
    is off. Runs in one E2B sandbox share its VM: a run can see what an earlier run
    left outside its work dir (``reuse=False`` gives each run its own VM).

    Example:
        >>> with E2BSandbox() as sandbox:  # needs E2B_API_KEY  # doctest: +SKIP
        ...     sandbox.run("echo hi", language="bash").stdout
        'hi\\n'
    """

    name = "e2b"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        template: str | None = None,
        limits: SandboxLimits | None = None,
        lifetime_s: int = 600,
        reuse: bool = True,
        sdk: Any = None,
    ) -> None:
        """Configure; nothing is created until the first run.

        Args:
            api_key: E2B key (default ``$E2B_API_KEY``).
            template: E2B template (default: E2B's code-interpreter template).
            limits: per-run caps (memory and file size through ``ulimit``, output on the host).
            lifetime_s: how long E2B keeps an idle sandbox.
            reuse: keep one E2B sandbox for every run (False: a new one per run).
            sdk: the SDK's ``Sandbox`` class; tests pass a fake here.
        """
        self._api_key = api_key or os.environ.get("E2B_API_KEY")
        self.template = template
        self.limits = limits or SandboxLimits()
        self.lifetime_s = lifetime_s
        self.reuse = reuse
        self._sdk = sdk
        self._box: Any = None
        self._lock = threading.Lock()
        self.created = 0  # how many E2B sandboxes this object created (renewals included)

    def _create(self) -> Any:
        if not self._api_key:
            raise SandboxUnavailableError(
                "the e2b backend needs an API key: set E2B_API_KEY (from https://e2b.dev) or pass api_key="
            )
        sdk = self._sdk or _sdk()
        kwargs: dict[str, Any] = {"timeout": self.lifetime_s, "api_key": self._api_key,
                                  "allow_internet_access": False}
        if self.template:
            kwargs["template"] = self.template
        try:
            box = sdk.create(**kwargs)
        except Exception as exc:
            raise SandboxUnavailableError(f"cannot create an E2B sandbox: {type(exc).__name__}: {exc}") from exc
        self.created += 1
        return box

    def _sandbox(self, renew: bool = False) -> Any:
        with self._lock:
            if renew or self._box is None:
                self._box = self._create()
            return self._box

    def run(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Run ``code`` in the E2B sandbox; see :class:`~codeloop.sandboxes.Sandbox`."""
        check_run_args(code, timeout_s, language, files)
        for attempt in (1, 2):
            box = self._sandbox(renew=attempt == 2)
            try:
                return self._run_in(box, code, timeout_s, language, files or {}, stdin or "")
            except Exception as exc:
                if type(exc).__name__ in _RENEWABLE and attempt == 1:
                    continue  # the sandbox expired: make a new one and run again
                raise SandboxUnavailableError(f"the E2B sandbox failed: {type(exc).__name__}: {exc}") from exc
            finally:
                if not self.reuse:
                    self.close()
        raise AssertionError("unreachable")

    def _run_in(self, box: Any, code: str, timeout_s: float, language: Language, files: Mapping[str, str | bytes],
                stdin: str) -> ExecutionResult:
        workdir = f"/tmp/codeloop-{uuid.uuid4().hex}"
        main = "main.sh" if language == "bash" else "main.py"
        for name, data in {**files, main: code, ".stdin": stdin}.items():
            box.files.write(f"{workdir}/{name}", data)
        interpreter = "bash" if language == "bash" else "python3"
        limits = self.limits
        script = (
            f"cd {shlex.quote(workdir)} && "
            f"ulimit -v {limits.memory_mb * 1024} -f {limits.max_file_mb * 2048} -n {limits.max_open_files}; "
            f"timeout -k 1 {timeout_s:g} {interpreter} {main} < .stdin; "
            f"status=$?; cd / && rm -rf {shlex.quote(workdir)}; exit $status"
        )
        started = time.monotonic()
        try:
            result = box.commands.run(script, timeout=timeout_s + 10, envs={"PYTHONIOENCODING": "utf-8"})
            stdout, stderr, status = result.stdout, result.stderr, int(result.exit_code)
        except Exception as exc:
            kind = type(exc).__name__
            if kind == "CommandExitException":
                stdout, stderr, status = exc.stdout, exc.stderr, int(exc.exit_code)  # type: ignore[attr-defined]
            elif kind == "TimeoutException":
                stdout, stderr, status = "", "", _TIMEOUT_STATUS
            else:
                raise
        duration = time.monotonic() - started
        timed_out = status == _TIMEOUT_STATUS
        cap = limits.max_output_bytes
        out_b, err_b = (stdout or "").encode(), (stderr or "").encode()
        return ExecutionResult(
            stdout=out_b[:cap].decode("utf-8", "replace") + (truncate_note(len(out_b) - cap) if len(out_b) > cap else ""),
            stderr=err_b[:cap].decode("utf-8", "replace") + (truncate_note(len(err_b) - cap) if len(err_b) > cap else ""),
            exit_code=None if timed_out else status,
            duration_s=duration,
            timed_out=timed_out,
            truncated=len(out_b) > cap or len(err_b) > cap,
            backend=self.name,
        )

    async def arun(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Like :meth:`run`, in a worker thread."""
        return await asyncio.to_thread(self.run, code, timeout_s=timeout_s, language=language, files=files, stdin=stdin)

    def close(self) -> None:
        """Kill the E2B sandbox, if one was created."""
        with self._lock:
            box, self._box = self._box, None
        if box is not None:
            try:
                box.kill()
            except Exception:
                pass

    def __enter__(self) -> E2BSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
