"""LocalSandbox: a child process per run, isolated by bubblewrap when it is installed."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeloop.errors import SandboxUnavailableError
from codeloop.sandboxes.base import (
    ExecutionResult,
    Language,
    SandboxLimits,
    check_run_args,
    encode_files,
    truncate_note,
)

log = logging.getLogger(__name__)

_SERVER_SOURCE = (Path(__file__).with_name("_forkserver.py")).read_text(encoding="utf-8")
_SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}
#: Slack on top of the run's own timeout before the host gives up on the server.
_HOST_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class Isolation:
    """What a LocalSandbox actually achieved on this machine."""

    bubblewrap: bool
    network: bool
    read_only_host: bool
    pid_namespace: bool
    unprivileged_user: bool

    def describe(self) -> str:
        """One line for logs and the CLI."""
        if self.bubblewrap:
            head = "bubblewrap: read-only host view, own PID namespace"
        else:
            head = "no bubblewrap: the host filesystem is visible (install bubblewrap for full isolation)"
        net = "no network" if not self.network else "NETWORK REACHABLE"
        user = "runs as nobody" if self.unprivileged_user else "runs as the calling user"
        return f"{head}; {net}; {user}"


def default_python() -> str:
    """The fastest interpreter to start: the system one (no pyenv shim, no venv hooks)."""
    for candidate in ("/usr/bin/python3", sys.executable):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SandboxUnavailableError("no python3 interpreter found for the local sandbox")


class LocalSandbox:
    """Runs code in a fresh child process per run, on this machine.

    A long-lived fork server (itself started inside bubblewrap when ``bwrap`` is on
    PATH: no network, a read-only view of ``/usr`` and little else, its own PID
    namespace) forks one supervisor and one user process per run, so a run costs a
    ``fork`` rather than an interpreter start-up. Each run gets a private temp work
    dir (removed afterwards), rlimits (CPU, address space, file size, processes,
    open files), a scrubbed environment, a capped output, an unprivileged uid when
    codeloop runs as root, and a hard wall-clock timeout after which every process
    the run created, daemonised grandchildren included, is killed.

    Without bubblewrap it still runs, with weaker isolation, and says so in
    :attr:`isolation` and in the log.

    Example:
        >>> with LocalSandbox() as sandbox:
        ...     sandbox.run("print(6 * 7)").stdout
        '42\\n'
    """

    name = "local"

    def __init__(
        self,
        *,
        limits: SandboxLimits | None = None,
        python: str | None = None,
        site_packages: bool = False,
        use_bubblewrap: bool | None = None,
        data_dir: str | Path | None = None,
        _mode: str = "python",
        _preload: tuple[str, ...] = (),
    ) -> None:
        """Configure the sandbox; the server starts lazily on the first run.

        Args:
            limits: resource caps per run.
            python: interpreter for the server (default: ``/usr/bin/python3``).
            site_packages: let user code import that interpreter's site-packages
                (e.g. ``numpy``); off by default for speed and a smaller surface.
            use_bubblewrap: force bubblewrap on (error when missing) or off; the
                default uses it when ``bwrap`` is installed.
            data_dir: a host directory the code may read (never write), at
                :attr:`data_path`: ``/data`` under bubblewrap, else the host path itself.
        """
        self.limits = limits or SandboxLimits()
        self.python = python or default_python()
        self.site_packages = site_packages
        bwrap = shutil.which("bwrap")
        if use_bubblewrap and not bwrap:
            raise SandboxUnavailableError("use_bubblewrap=True but bwrap is not installed: apt-get install bubblewrap")
        self._bwrap = bwrap if use_bubblewrap is not False else None
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._host_root: str | None = None
        self._hello: dict[str, Any] = {}
        self._finalizer: Any = None  # a weakref.finalize that stops the server
        self._mode = _mode  # "restricted": RestrictedSandbox runs its code through this server
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        if self.data_dir is not None and not self.data_dir.is_dir():
            raise SandboxUnavailableError(f"data_dir {self.data_dir} is not a directory")
        self._preload = _preload

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the fork server; running supervisors finish or die with its PID namespace."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._proc = self._control = None
            self._finalizer = None

    @property
    def data_path(self) -> str | None:
        """Where the code finds ``data_dir`` (read-only), or None without one."""
        if self.data_dir is None:
            return None
        return "/data" if self._bwrap else str(self.data_dir)

    @property
    def isolation(self) -> Isolation:
        """The isolation this machine gives (starts the server to find out)."""
        self._ensure_server()
        return self._isolation()

    def _isolation(self) -> Isolation:
        wrapped = self._bwrap is not None
        return Isolation(
            bubblewrap=wrapped,
            network=not (wrapped or self._hello.get("net_isolated")),
            read_only_host=wrapped,
            pid_namespace=wrapped,
            unprivileged_user=bool(self._hello.get("drop_uid")) or os.geteuid() != 0,
        )

    def _ensure_server(self) -> socket.socket:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None and self._control is not None:
                return self._control
            if self._finalizer is not None:
                self._finalizer()
            return self._start_server()

    def _start_server(self) -> socket.socket:
        host_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cfg: dict[str, Any] = {"control_fd": server_end.fileno(), "env": _SAFE_ENV, "preload": list(self._preload),
                               "harness": _harness_source()}
        flags = ["-I"] if self.site_packages else ["-I", "-S"]
        if self._bwrap:
            cfg["root"] = "/sandbox"
            cmd = [*self._bwrap_args(), self.python, *flags, "-c", _SERVER_SOURCE, json.dumps(cfg)]
        else:
            self._host_root = tempfile.mkdtemp(prefix="codeloop-local-")
            cfg["root"] = self._host_root
            cfg["unshare_net"] = True
            cmd = [self.python, *flags, "-c", _SERVER_SOURCE, json.dumps(cfg)]
        errlog = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after the server said hello
        try:
            proc = subprocess.Popen(
                cmd,
                pass_fds=(server_end.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errlog,
                env=_SAFE_ENV,
                start_new_session=True,
            )
        except OSError as exc:
            host_end.close()
            raise SandboxUnavailableError(f"cannot start the local sandbox server ({cmd[0]}): {exc}") from exc
        finally:
            server_end.close()
        host_end.settimeout(30)
        try:
            hello = b""
            while not hello.endswith(b"\n"):
                chunk = host_end.recv(4096)
                if not chunk:
                    raise OSError("server exited")
                hello += chunk
        except OSError as exc:
            proc.kill()
            proc.wait()
            errlog.seek(0)
            err = errlog.read().decode(errors="replace").strip()
            errlog.close()
            host_end.close()
            raise SandboxUnavailableError(f"the local sandbox server did not start: {err or exc}") from exc
        host_end.settimeout(None)
        self._hello = json.loads(hello)
        self._proc, self._control = proc, host_end
        errlog.close()
        self._finalizer = weakref.finalize(self, _stop_server, proc, host_end, self._host_root)
        if not self._bwrap:
            log.warning("LocalSandbox without bubblewrap: %s", self._isolation().describe())
        return host_end

    def _bwrap_args(self) -> list[str]:
        assert self._bwrap is not None
        args = [
            self._bwrap,
            "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr",
        ]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for path in ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/ssl"):
            args += ["--ro-bind-try", path, path]
        # An interpreter outside /usr (pyenv, venv, conda) needs its own prefix.
        for prefix in _interpreter_prefixes(self.python):
            if not prefix.startswith("/usr/"):
                args += ["--ro-bind-try", prefix, prefix]
        size = str(self.limits.disk_mb * 1024 * 1024)
        args += [
            "--proc", "/proc", "--dev", "/dev",
            "--size", size, "--tmpfs", "/sandbox",
            *(["--ro-bind", str(self.data_dir), "/data"] if self.data_dir is not None else []),
            "--dir", "/tmp", "--remount-ro", "/",
        ]
        if os.geteuid() == 0:
            # Root's server keeps just what it needs to drop each run to nobody and clean up.
            for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER"):
                args += ["--cap-add", cap]
        return args

    # -- running -----------------------------------------------------------------

    def _request(self, code: str, timeout_s: float, language: Language,
                 files: Mapping[str, str | bytes] | None, stdin: str | None) -> bytes:
        check_run_args(code, timeout_s, language, files)
        harness = code is _harness_source()  # the server has it compiled already
        payload: dict[str, Any] = {
            "code": "" if harness else code,
            "harness": harness,
            "mode": self._mode,
            "language": language,
            "timeout_s": float(timeout_s),
            "stdin": stdin or "",
            "limits": self.limits.model_dump(),
            "files": encode_files(files),
        }
        return json.dumps(payload).encode()

    def _open_run(self) -> socket.socket:
        """A fresh socket to a new supervisor; restarts a dead server once."""
        for attempt in (1, 2):
            control = self._ensure_server()
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                with self._lock:
                    socket.send_fds(control, [b"r"], [theirs.fileno()])
                return mine
            except OSError as exc:
                mine.close()
                if attempt == 2:
                    raise SandboxUnavailableError(f"the local sandbox server is gone: {exc}") from exc
                with self._lock:
                    if self._finalizer is not None:
                        self._finalizer()
                    self._proc = None
            finally:
                theirs.close()
        raise AssertionError("unreachable")

    def run(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Run ``code`` and return what happened; see :class:`Sandbox`."""
        payload = self._request(code, timeout_s, language, files, stdin)
        started = time.monotonic()
        sock = self._open_run()
        with sock:
            sock.settimeout(timeout_s + _HOST_GRACE_S)
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                chunks = []
                while chunk := sock.recv(1 << 20):
                    chunks.append(chunk)
            except OSError as exc:
                raise SandboxUnavailableError(f"lost the local sandbox supervisor: {exc}") from exc
        return self._result(b"".join(chunks), time.monotonic() - started)

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
        payload = self._request(code, timeout_s, language, files, stdin)
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        sock = await asyncio.to_thread(self._open_run) if self._proc is None else self._open_run()
        with sock:
            sock.setblocking(False)
            try:
                async with asyncio.timeout(timeout_s + _HOST_GRACE_S):
                    await loop.sock_sendall(sock, payload)
                    sock.shutdown(socket.SHUT_WR)
                    chunks = []
                    while chunk := await loop.sock_recv(sock, 1 << 20):
                        chunks.append(chunk)
            except (OSError, TimeoutError) as exc:
                raise SandboxUnavailableError(f"lost the local sandbox supervisor: {exc!r}") from exc
        return self._result(b"".join(chunks), time.monotonic() - started)

    def _result(self, raw: bytes, host_duration: float) -> ExecutionResult:
        if not raw:
            raise SandboxUnavailableError("the local sandbox supervisor died without answering")
        reply = json.loads(raw)
        if reply.get("sandbox_error"):
            raise SandboxUnavailableError(f"the local sandbox failed internally:\n{reply.get('stderr', '')}")
        stdout, stderr = reply["stdout"], reply["stderr"]
        dropped_out, dropped_err = reply.get("dropped", [0, 0])
        if dropped_out:
            stdout += truncate_note(dropped_out)
        if dropped_err:
            stderr += truncate_note(dropped_err)
        return ExecutionResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=reply["exit_code"],
            duration_s=reply.get("duration_s", host_duration),
            timed_out=reply["timed_out"],
            truncated=reply["truncated"],
            backend=self.name,
            resources=reply.get("resources", {}),
        )


def _harness_source() -> str:
    from codeloop.nodes.test import HARNESS_SOURCE

    return HARNESS_SOURCE


def _interpreter_prefixes(python: str) -> set[str]:
    """Directories an interpreter outside /usr needs to see (its prefix, its base, its binary)."""
    if Path(python).resolve().is_relative_to("/usr"):
        return set()
    probe = "import sys; print(sys.prefix); print(sys.base_prefix)"
    out = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, timeout=30, check=False)
    prefixes = {line for line in out.stdout.splitlines() if line}
    prefixes.add(str(Path(python).resolve().parent.parent))
    return prefixes


def _stop_server(proc: subprocess.Popen[bytes], control: socket.socket, host_root: str | None) -> None:
    control.close()  # EOF ends the server loop
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if host_root:
        shutil.rmtree(host_root, ignore_errors=True)
