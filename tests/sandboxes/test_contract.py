"""One contract, every backend: what any Sandbox must do, checked from the host side."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from codeloop.errors import ConfigError
from codeloop.sandboxes import Sandbox, SandboxLimits
from codeloop.sandboxes.registry import make_sandbox

from ..conftest import free_port, require_docker

LIMITS = SandboxLimits(memory_mb=256, max_output_bytes=64 * 1024, max_file_mb=8, disk_mb=64)


def _backends() -> list[Any]:
    return [
        pytest.param("local", id="local"),
        pytest.param("docker", id="docker", marks=pytest.mark.docker),
        pytest.param("restricted", id="restricted"),
    ]


def _open(name: str) -> Sandbox:
    if name == "docker":
        from codeloop.sandboxes.docker import docker_available

        why = docker_available()
        if why:
            if require_docker():
                pytest.fail(f"CODELOOP_REQUIRE_DOCKER=1 but Docker is unusable: {why}")
            pytest.skip(f"Docker is unusable here: {why}")
    return make_sandbox(name, limits=LIMITS)


@pytest.fixture(scope="module", params=_backends())
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    box = _open(request.param)
    try:
        yield box
    finally:
        box.close()


def is_restricted(sandbox: Sandbox) -> bool:
    return sandbox.name == "restricted"


def test_stdout_stderr_and_exit_code(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)"
                         if not is_restricted(sandbox) else "print('out')\nraise SystemExit(3)")
    assert result.stdout == "out\n"
    if not is_restricted(sandbox):
        assert result.stderr == "err\n"
    assert result.exit_code == 3 and not result.timed_out
    assert result.backend == sandbox.name and result.duration_s >= 0


def test_syntax_errors_and_exceptions_are_data(sandbox: Sandbox) -> None:
    result = sandbox.run("def f(:\n    pass")
    assert result.exit_code not in (0, None)
    assert "SyntaxError" in result.stderr
    result = sandbox.run("def f():\n    return 1 / 0\nf()")
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.stderr


def test_timeout_really_stops_the_code(sandbox: Sandbox) -> None:
    result = sandbox.run("while True:\n    pass", timeout_s=1.0)
    assert result.timed_out and result.exit_code is None
    assert result.duration_s < 6


def test_timeout_stops_threads(sandbox: Sandbox) -> None:
    if is_restricted(sandbox):
        pytest.skip("RestrictedPython code cannot import threading")
    code = "import threading\ndef spin():\n    while True:\n        pass\nfor _ in range(4):\n    threading.Thread(target=spin).start()\n"
    result = sandbox.run(code, timeout_s=1.0)
    assert result.timed_out


def test_memory_cap(sandbox: Sandbox) -> None:
    result = sandbox.run("x = 'a' * (1024 * 1024 * 1024)\nprint('allocated')", timeout_s=10)
    assert "allocated" not in result.stdout
    assert result.exit_code != 0


def test_output_cap(sandbox: Sandbox) -> None:
    result = sandbox.run("for i in range(200000):\n    print('x' * 99)", timeout_s=20)
    assert result.truncated
    assert len(result.stdout.encode()) < LIMITS.max_output_bytes + 200


def test_disk_cap(sandbox: Sandbox) -> None:
    if is_restricted(sandbox):
        pytest.skip("RestrictedPython code cannot open files")
    code = ("chunk = b'0' * (1024 * 1024)\nwith open('big.bin', 'wb') as fh:\n    for i in range(200):\n"
            "        fh.write(chunk)\nprint('wrote 200 MB')")
    result = sandbox.run(code, timeout_s=20)
    assert "wrote 200 MB" not in result.stdout
    assert result.exit_code != 0


def test_no_network(sandbox: Sandbox) -> None:
    port = free_port()
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    accepted: list[Any] = []
    listener.settimeout(4)

    def accept() -> None:
        try:
            accepted.append(listener.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
    result = sandbox.run(code, timeout_s=5)
    thread.join()
    listener.close()
    assert "connected" not in result.stdout
    assert accepted == []  # the host side saw no connection


def test_no_secret_from_the_callers_environment(sandbox: Sandbox) -> None:
    os.environ["CODELOOP_CONTRACT_SECRET"] = "s3cr3t-value"
    try:
        code = "import os\nprint(dict(os.environ))" if not is_restricted(sandbox) else "print('no os module')"
        result = sandbox.run(code)
    finally:
        del os.environ["CODELOOP_CONTRACT_SECRET"]
    assert "s3cr3t-value" not in result.stdout + result.stderr


def test_no_state_from_one_run_in_the_next(sandbox: Sandbox) -> None:
    if is_restricted(sandbox):
        first = sandbox.run("import math\nmath.tau = 1\nprint(math.tau)")
        second = sandbox.run("import math\nprint(math.tau)")
        assert second.stdout.strip() != "1"
        return
    first = sandbox.run("import os, builtins\nopen('left-behind.txt', 'w').write('x')\n"
                        "builtins.LEAK = 1\nprint(os.getcwd())")
    assert first.exit_code == 0, first.stderr
    second = sandbox.run(f"import os, builtins\nprint(os.path.exists('left-behind.txt'), "
                         f"os.path.exists({first.stdout.strip()!r}), hasattr(builtins, 'LEAK'))")
    assert second.stdout.strip() == "False False False"


def test_files_passed_in_and_read_back(sandbox: Sandbox) -> None:
    if is_restricted(sandbox):
        pytest.skip("RestrictedPython code cannot open files")
    files = {"data/in.txt": "hello", "raw.bin": b"\x00\xff"}
    code = "print(open('data/in.txt').read(), open('raw.bin', 'rb').read())"
    result = sandbox.run(code, files=files)
    assert result.stdout.strip() == "hello b'\\x00\\xff'"


def test_stdin(sandbox: Sandbox) -> None:
    if is_restricted(sandbox):
        pytest.skip("RestrictedPython code has no input()")
    assert sandbox.run("print(input()[::-1])", stdin="abc\n").stdout == "cba\n"


def test_bash(sandbox: Sandbox) -> None:
    if is_restricted(sandbox):
        pytest.skip("the restricted backend runs Python only")
    result = sandbox.run("echo hello; echo oops >&2; exit 4", language="bash")
    assert (result.stdout, result.stderr.strip(), result.exit_code) == ("hello\n", "oops", 4)
    assert sandbox.run("sleep 30", language="bash", timeout_s=1).timed_out


def test_bad_arguments_are_rejected_clearly(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        sandbox.run("print(1)", timeout_s=0)
    with pytest.raises(ConfigError, match="relative path"):
        sandbox.run("print(1)", files={"../escape.txt": "x"})
    with pytest.raises(ConfigError, match="language"):
        sandbox.run("print(1)", language="ruby")  # type: ignore[arg-type]


def test_arun_runs_concurrently_without_sharing(sandbox: Sandbox) -> None:
    async def main() -> list[str]:
        code = "import time\ntime.sleep(0.5)\nprint({i})" if not is_restricted(sandbox) else "print({i})"
        results = await asyncio.gather(*(sandbox.arun(code.format(i=i)) for i in range(6)))
        return [r.stdout.strip() for r in results]

    assert asyncio.run(main()) == [str(i) for i in range(6)]
