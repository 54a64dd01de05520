"""DockerSandbox: every run in its own locked-down container, from a warm pool."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import queue
import secrets
import signal
import socket
import struct
import threading
import time
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from codeloop.errors import MissingDependencyError, SandboxUnavailableError
from codeloop.sandboxes.base import (
    ExecutionResult,
    Language,
    SandboxLimits,
    check_run_args,
    encode_files,
    truncate_note,
)

DEFAULT_IMAGE = "python:3.12-slim"
#: What ``codeloop sandbox build-image`` builds where no registry is reachable.
LOCAL_IMAGE = "codeloop-sandbox:latest"
LABEL = "codeloop.sandbox"
_API_VERSION = "1.41"
_RUNNER = (Path(__file__).with_name("_forkserver.py")).read_text(encoding="utf-8")
_WORKDIR = "/work"
#: Slack on top of the run's own timeout (the runner enforces that) before the host kills it.
_HOST_GRACE_S = 15.0
_RUN_UID_BASE = 1_100_000_000  # above the local sandbox's range, below 2**31


def _docker() -> Any:
    try:
        import docker
    except ImportError as exc:
        raise MissingDependencyError("docker (docker-py)", "docker") from exc
    return docker


def docker_available() -> str | None:
    """None when a Docker daemon answers here, else why not (for skips and errors)."""
    try:
        _connect().close()
    except MissingDependencyError as exc:
        return str(exc)
    except SandboxUnavailableError as exc:
        return str(exc)
    return None


def _connect() -> Any:
    docker = _docker()
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        raise SandboxUnavailableError(
            f"cannot reach the Docker daemon: no socket at {host}; start it (e.g. `dockerd &` or "
            "`systemctl start docker`) or set DOCKER_HOST"
        )
    # An explicit API version (Docker 20.10+; newer daemons accept it) keeps the constructor
    # off the network, so a failed ping can close the client instead of leaking its socket.
    client = docker.from_env(timeout=30, version=_API_VERSION)
    try:
        client.ping()
    except Exception as exc:
        client.close()
        raise SandboxUnavailableError(
            f"cannot reach the Docker daemon ({exc}); start it (e.g. `dockerd &` or `systemctl start docker`) "
            "or set DOCKER_HOST"
        ) from exc
    return client


class DockerSandbox:
    """Runs code in a fresh, locked-down container per run.

    Secure by default: no network, a read-only root filesystem with a small tmpfs
    work dir, all capabilities dropped, ``no-new-privileges``, a non-root uid
    unique to the run, memory, CPU and pids limits, and a wall-clock timeout that
    kills the container. Containers are started ahead of time (``pool_size``) and
    each serves exactly one run, so nothing leaks between runs while a run costs an
    attach and a wait instead of a container start.

    Every container carries the ``codeloop.sandbox`` label; :meth:`close`,
    interpreter exit and SIGTERM remove them, and a new sandbox reaps containers
    left by a process that died.

    Example:
        >>> with DockerSandbox() as sandbox:  # doctest: +SKIP
        ...     sandbox.run("print(6 * 7)").stdout
        '42\\n'
    """

    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        *,
        limits: SandboxLimits | None = None,
        pool_size: int = 2,
        cpus: float = 1.0,
        data_dir: str | Path | None = None,
    ) -> None:
        """Configure the sandbox; containers start on first use.

        Args:
            image: any image with ``python3`` (default: ``$CODELOOP_DOCKER_IMAGE``, else
                ``python:3.12-slim``, else the locally built ``codeloop-sandbox:latest``).
            limits: per-run resource caps.
            pool_size: containers kept started and waiting.
            cpus: CPU share per container.
            data_dir: a host directory mounted read-only at ``/data`` (:attr:`data_path`).
        """
        self._requested_image = image or os.environ.get("CODELOOP_DOCKER_IMAGE") or None
        self.limits = limits or SandboxLimits()
        self.pool_size = max(0, pool_size)
        self.cpus = cpus
        self._client: Any = None
        self._image: str | None = self._requested_image
        self._pool: queue.Queue[_Warm] = queue.Queue()
        self._lock = threading.Lock()
        self._live: set[str] = set()
        self._closed = False
        self._filler: threading.Thread | None = None
        self._wake = threading.Event()
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.data_path = "/data" if data_dir is not None else None
        self._remover = ThreadPoolExecutor(max_workers=2, thread_name_prefix="codeloop-docker-rm")

    # -- lifecycle -----------------------------------------------------------------

    @property
    def image(self) -> str:
        """The image the containers run (resolved against what the daemon has)."""
        if self._image is None:
            self._image = self._resolve_image()
        return self._image

    def _resolve_image(self) -> str:
        client = self._ensure_client()
        for candidate in (DEFAULT_IMAGE, LOCAL_IMAGE):
            if _has_image(client, candidate):
                return candidate
        return DEFAULT_IMAGE

    def _ensure_client(self) -> Any:
        with self._lock:
            if self._closed and self._client is not None:
                return self._client  # closing: let in-flight work finish against the daemon
            if self._closed:
                raise SandboxUnavailableError("this DockerSandbox is closed")
            if self._client is None:
                self._client = _connect()
                reap_orphans(self._client)
                _register_cleanup(self)
            return self._client

    def _ensure_image(self) -> None:
        client = self._ensure_client()
        image = self.image
        if _has_image(client, image):
            return
        try:
            client.images.pull(image)
        except Exception as exc:
            raise SandboxUnavailableError(
                f"the Docker image {image!r} is not here and cannot be pulled ({type(exc).__name__}). "
                f"Build one from a local Debian root with `codeloop sandbox build-image` (tag {LOCAL_IMAGE}), "
                "or set CODELOOP_DOCKER_IMAGE to an image with python3"
            ) from exc

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove every container this sandbox started, pooled or running."""
        with self._lock:
            if self._closed and self._client is None:
                return
            self._closed = True
            self._wake.set()
        if self._filler is not None:
            self._filler.join(timeout=60)
        self._remover.shutdown(wait=True)
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                break
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            for container_id in list(self._live):
                _remove(client, container_id)
            self._live.clear()
            client.close()

    # -- the warm pool ---------------------------------------------------------------

    def _start_filler(self) -> None:
        if self._filler is None and self.pool_size > 0:
            self._filler = threading.Thread(target=self._fill, name="codeloop-docker-pool", daemon=True)
            self._filler.start()

    def _fill(self) -> None:
        while not self._closed:
            if self._pool.qsize() < self.pool_size:
                try:
                    warm = self._new_container()
                except Exception:
                    time.sleep(1.0)  # the next run surfaces the error synchronously
                    continue
                if self._closed:
                    warm.close()  # close() removes it with the rest of self._live
                    return
                self._pool.put(warm)
                continue
            self._wake.wait(timeout=1.0)
            self._wake.clear()

    def _take(self) -> _Warm:
        self._ensure_image()
        self._start_filler()
        try:
            warm = self._pool.get_nowait()
        except queue.Empty:
            warm = self._new_container()
        self._wake.set()
        return warm

    def _new_container(self) -> _Warm:
        client = self._ensure_client()
        api = client.api
        limits = self.limits
        host_config = api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={
                _WORKDIR: f"rw,exec,size={limits.disk_mb}m,mode=1777",
                "/tmp": f"rw,size={min(limits.disk_mb, 16)}m,mode=1777",
            },
            cap_drop=["ALL"],
            # The runner (PID 1) keeps only what it needs to drop the user process to the
            # run's own uid, hand it the work dir and kill it; the user process has none.
            cap_add=["SETUID", "SETGID", "CHOWN", "KILL", "DAC_OVERRIDE", "FOWNER"],
            security_opt=["no-new-privileges"],
            mem_limit=f"{limits.memory_mb + 64}m",
            memswap_limit=f"{limits.memory_mb + 64}m",
            nano_cpus=int(self.cpus * 1e9),
            pids_limit=limits.max_processes,
            ulimits=[
                {"Name": "nofile", "Soft": limits.max_open_files, "Hard": limits.max_open_files},
                {"Name": "fsize", "Soft": limits.max_file_mb * 1048576, "Hard": limits.max_file_mb * 1048576},
                {"Name": "core", "Soft": 0, "Hard": 0},
            ],
            init=False,
            binds={str(self.data_dir): {"bind": "/data", "mode": "ro"}} if self.data_dir is not None else None,
        )
        container = api.create_container(
            self.image,
            command=["python3", "-I", "-S", "-c", _RUNNER, "oneshot", _WORKDIR],
            user="0:0",
            stdin_open=True,
            # No working_dir: Docker would re-create it 0755 over the tmpfs; the runner chdirs itself.
            environment={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
            labels={LABEL: "1", f"{LABEL}.owner": self._owner},
            network_disabled=True,
            host_config=host_config,
        )
        container_id = container["Id"]
        self._live.add(container_id)
        sock = None
        try:
            sock = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            api.start(container_id)
        except Exception as exc:
            if sock is not None:
                _Warm(container_id, sock, getattr(sock, "_sock", sock)).close()
            _remove(client, container_id)
            self._live.discard(container_id)
            raise SandboxUnavailableError(f"cannot start a sandbox container from {self.image!r}: {exc}") from exc
        raw = getattr(sock, "_sock", sock)
        return _Warm(container_id, sock, raw)

    def _forget(self, container_id: str) -> None:
        self._live.discard(container_id)

    # -- running ---------------------------------------------------------------------

    def run(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Run ``code`` in a container of its own; see :class:`~codeloop.sandboxes.Sandbox`."""
        check_run_args(code, timeout_s, language, files)
        request = json.dumps({
            "code": code,
            "language": language,
            "timeout_s": float(timeout_s),
            "stdin": stdin or "",
            "limits": self.limits.model_dump(),
            "files": encode_files(files),
        }).encode()
        request = request[:-1] + b', "run_uid": %d}' % (_RUN_UID_BASE + secrets.randbelow(1_000_000_000))
        warm = self._take()
        started = time.monotonic()
        try:
            warm.raw.sendall(b"%08d" % len(request) + request)
            reply, runner_err = _read_reply(warm.raw, started + timeout_s + _HOST_GRACE_S)
        except Exception as exc:
            raise SandboxUnavailableError(f"the Docker sandbox failed during the run: {exc}") from exc
        finally:
            warm.close()
            self._discard(warm.container_id)
        if reply is None:
            why = runner_err.decode("utf-8", "replace").strip()[-2000:] or "no reply before the deadline"
            raise SandboxUnavailableError(f"the sandbox container did not answer: {why}")
        if reply.get("sandbox_error"):
            raise SandboxUnavailableError(f"the Docker sandbox failed internally:\n{reply.get('stderr', '')}")
        dropped_out, dropped_err = reply.get("dropped", [0, 0])
        return ExecutionResult(
            stdout=reply["stdout"] + (truncate_note(dropped_out) if dropped_out else ""),
            stderr=reply["stderr"] + (truncate_note(dropped_err) if dropped_err else ""),
            exit_code=reply["exit_code"],
            duration_s=reply.get("duration_s", time.monotonic() - started),
            timed_out=reply["timed_out"],
            truncated=reply["truncated"],
            backend=self.name,
            resources=reply.get("resources", {}),
        )

    def _discard(self, container_id: str) -> None:
        """Remove a used container off the caller's path."""
        client = self._client
        if client is None:
            return

        def remove() -> None:
            _remove(client, container_id)
            self._forget(container_id)

        try:
            self._remover.submit(remove)
        except RuntimeError:  # closing: close() removes everything still live
            pass

    async def arun(
        self,
        code: str,
        *,
        timeout_s: float = 10.0,
        language: Language = "python",
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Like :meth:`run`, in a worker thread so the event loop keeps going."""
        return await asyncio.to_thread(self.run, code, timeout_s=timeout_s, language=language, files=files, stdin=stdin)

    def fresh_container_run(self, code: str, timeout_s: float = 30.0) -> str:
        """One ``containers.run`` from scratch, the way the seed does it (for the benchmark)."""
        self._ensure_image()
        client = self._ensure_client()
        output = client.containers.run(self.image, ["python3", "-I", "-c", code], network_disabled=True,
                                       mem_limit=f"{self.limits.memory_mb}m", remove=True, labels={LABEL: "1"})
        return output.decode() if isinstance(output, bytes) else str(output)


class _Warm:
    """A started container waiting for its one request on stdin."""

    def __init__(self, container_id: str, sock: Any, raw: socket.socket) -> None:
        self.container_id = container_id
        self.sock = sock
        self.raw = raw

    def close(self) -> None:
        for obj in (self.raw, self.sock, getattr(self.sock, "_response", None)):
            try:
                if obj is not None:
                    obj.close()
            except Exception:
                pass


def _read_reply(raw: socket.socket, deadline: float) -> tuple[dict[str, Any] | None, bytes]:
    """The runner's length-prefixed JSON reply from Docker's multiplexed attach stream.

    Frames have an 8-byte header (stream 1 = stdout, 2 = stderr, then a big-endian size).
    Only the runner writes to the container's stdout; stderr carries a runner crash, if any.
    """
    streams = [bytearray(), bytearray()]
    pending = b""
    while True:
        out = streams[0]
        if len(out) >= 8 and len(out) >= 8 + int(out[:8]):
            return json.loads(bytes(out[8 : 8 + int(out[:8])])), bytes(streams[1])
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, bytes(streams[1])
        raw.settimeout(remaining)
        try:
            chunk = raw.recv(1 << 20)
        except TimeoutError:
            return None, bytes(streams[1])
        if not chunk:
            return None, bytes(streams[1])
        pending += chunk
        while len(pending) >= 8:
            kind, size = pending[0], struct.unpack(">I", pending[4:8])[0]
            if len(pending) < 8 + size:
                break
            streams[1 if kind == 2 else 0] += pending[8 : 8 + size]
            pending = pending[8 + size :]


def _has_image(client: Any, image: str) -> bool:
    try:
        client.images.get(image)
    except Exception:
        return False
    return True


def _kill(client: Any, container_id: str) -> None:
    try:
        client.api.kill(container_id)
    except Exception:
        pass


def _remove(client: Any, container_id: str) -> None:
    try:
        client.api.remove_container(container_id, force=True)
    except Exception:
        pass


def reap_orphans(client: Any) -> list[str]:
    """Remove codeloop containers whose owning process on this host is gone."""
    host = socket.gethostname()
    removed = []
    for info in client.api.containers(all=True, filters={"label": LABEL}):
        owner = info.get("Labels", {}).get(f"{LABEL}.owner", "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        _remove(client, info["Id"])
        removed.append(info["Id"])
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_open_sandboxes: weakref.WeakSet[DockerSandbox] = weakref.WeakSet()
_cleanup_registered = False


def _register_cleanup(sandbox: DockerSandbox) -> None:
    """Close every open DockerSandbox at interpreter exit, and on SIGTERM when nobody else handles it."""
    global _cleanup_registered
    _open_sandboxes.add(sandbox)
    if _cleanup_registered:
        return
    _cleanup_registered = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _close_all() -> None:
    for sandbox in list(_open_sandboxes):
        sandbox.close()


def _on_sigterm(signum: int, frame: Any) -> None:
    _close_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
