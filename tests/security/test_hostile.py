"""Hostile programs against every backend, judged on the host (not by the program's own word).

Where a backend contains an attack by design rather than by isolation (RestrictedPython has
no `os`, no `open`), the test runs the closest thing the backend allows and says so.
"""

from __future__ import annotations

import os
import socket
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from codeloop.nodes.test import run_tests
from codeloop.sandboxes import Sandbox
from codeloop.state import normalize_tests

from ..conftest import free_port, host_processes_named


def restricted(sandbox: Sandbox) -> bool:
    return sandbox.name == "restricted"


def run(sandbox: Sandbox, code: str, **kw: Any) -> Any:
    return sandbox.run(textwrap.dedent(code), **kw)


def test_cannot_read_a_host_secret_or_the_callers_environment(sandbox: Sandbox, host_secret: Any) -> None:
    path, value = host_secret
    os.environ["CODELOOP_HOSTILE_SECRET"] = value
    try:
        if restricted(sandbox):
            result = run(sandbox, f"print(open({str(path)!r}).read())")  # no open(): NameError
        else:
            result = run(sandbox, f"""
                import os
                try:
                    print(open({str(path)!r}).read())
                except OSError as exc:
                    print("read failed:", exc)
                print(open("/proc/self/environ", "rb").read())
                print(open("/proc/1/environ", "rb").read() if os.access("/proc/1/environ", os.R_OK) else "")
            """)
    finally:
        del os.environ["CODELOOP_HOSTILE_SECRET"]
    assert value not in result.stdout + result.stderr


def test_cannot_write_outside_the_work_dir(sandbox: Sandbox, host_secret: Any) -> None:
    folder = host_secret[0].parent  # world-writable on the host
    target = folder / "pwned.txt"
    if restricted(sandbox):
        run(sandbox, f"open({str(target)!r}, 'w').write('x')")
    else:
        run(sandbox, f"""
            for path in [{str(target)!r}, "/tmp/pwned.txt", "/usr/pwned.txt", "/etc/pwned.txt"]:
                try:
                    open(path, "w").write("x")
                except OSError:
                    pass
        """)
    assert not target.exists()
    assert not Path("/usr/pwned.txt").exists() and not Path("/etc/pwned.txt").exists()


def test_nothing_is_left_for_the_next_run(sandbox: Sandbox) -> None:
    if restricted(sandbox):
        pytest.skip("contained by design: restricted code has no file or process access to leave anything with")
    marker = uuid.uuid4().hex
    run(sandbox, f"""
        import os
        for folder in [".", os.environ.get("HOME", "."), "/tmp", "/dev/shm", "/var/tmp"]:
            try:
                open(os.path.join(folder, "{marker}"), "w").write("left")
            except OSError:
                pass
    """)
    second = run(sandbox, f"""
        import os
        print([f for f in [".", os.environ.get("HOME", "."), "/tmp", "/dev/shm", "/var/tmp"]
               if os.path.exists(os.path.join(f, "{marker}"))])
    """)
    assert second.stdout.strip() == "[]"
    for folder in ("/tmp", "/dev/shm", "/var/tmp"):  # and not on the host either
        assert not Path(folder, marker).exists()


def test_no_network_egress_tcp_udp_or_dns(sandbox: Sandbox) -> None:
    if restricted(sandbox):
        result = run(sandbox, "import socket")
        assert "not allowed" in result.stderr
        return
    tcp_port, udp_port = free_port(), free_port()
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", tcp_port))
    tcp.listen(1)
    tcp.settimeout(3)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", udp_port))
    udp.settimeout(3)
    seen: list[str] = []

    def listen() -> None:
        try:
            tcp.accept()
            seen.append("tcp")
        except OSError:
            pass
        try:
            udp.recvfrom(100)
            seen.append("udp")
        except OSError:
            pass

    thread = threading.Thread(target=listen)
    thread.start()
    result = run(sandbox, f"""
        import socket
        for attempt in (
            lambda: socket.create_connection(("127.0.0.1", {tcp_port}), timeout=1),
            lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", {udp_port})),
            lambda: socket.getaddrinfo("example.com", 80),
        ):
            try:
                print("OK", attempt())
            except OSError as exc:
                print("blocked", type(exc).__name__)
    """, timeout_s=10)
    thread.join()
    tcp.close()
    udp.close()
    assert seen == []  # the host saw no connection and no datagram
    assert "blocked gaierror" in result.stdout  # no name resolution either


def test_daemonised_grandchildren_die_with_the_run(sandbox: Sandbox) -> None:
    if restricted(sandbox):
        pytest.skip("contained by design: restricted code cannot import os to fork")
    marker = f"codeloop-hostile-{uuid.uuid4().hex}"
    result = run(sandbox, f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("/bin/sleep", ["{marker}", "300"])
            os._exit(0)
        time.sleep(60)
    """, timeout_s=1.5)
    assert result.timed_out
    deadline = time.monotonic() + 10
    while host_processes_named(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert host_processes_named(marker) == []


def test_killing_the_parent_does_not_break_the_sandbox(sandbox: Sandbox) -> None:
    if restricted(sandbox):
        pytest.skip("contained by design: restricted code has no os.kill")
    run(sandbox, """
        import os, signal
        for target in (os.getppid(), 1, -1, 0):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
    """)
    # Judged on the host: the sandbox (its server, its supervisors) still answers.
    assert sandbox.run("print('still here')").stdout == "still here\n"


def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    if restricted(sandbox):
        pytest.skip("contained by design: restricted code cannot fork")
    marker = f"codeloop-bomb-{uuid.uuid4().hex}"
    started = time.monotonic()
    result = run(sandbox, f"""
        import os
        while True:
            try:
                if os.fork() == 0:
                    os.execv("/bin/sleep", ["{marker}", "300"])
            except OSError:
                pass
    """, timeout_s=2)
    assert result.timed_out or result.exit_code != 0
    assert time.monotonic() - started < 30
    deadline = time.monotonic() + 10
    while host_processes_named(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert host_processes_named(marker) == []
    assert sandbox.run("print('ok')").stdout == "ok\n"


def test_memory_disk_and_output_bombs(sandbox: Sandbox) -> None:
    memory = run(sandbox, "blocks = []\nwhile True:\n    blocks.append('x' * 10_000_000)", timeout_s=10)
    assert memory.exit_code != 0
    output = run(sandbox, "while True:\n    print('y' * 1000)", timeout_s=2)
    assert len(output.stdout) < 70 * 1024 and output.truncated
    if not restricted(sandbox):
        disk = run(sandbox, """
            chunk = b"0" * (1 << 20)
            n = 0
            try:
                with open("fill.bin", "wb") as fh:
                    while True:
                        fh.write(chunk)
                        n += 1
            except OSError as exc:
                print("stopped after", n, "MB:", type(exc).__name__)
        """, timeout_s=20)
        assert "stopped after" in disk.stdout or disk.exit_code != 0
    assert sandbox.run("print('ok')").stdout == "ok\n"


def test_cpu_spin_in_threads_is_stopped(sandbox: Sandbox) -> None:
    if restricted(sandbox):
        result = run(sandbox, "while True:\n    pass", timeout_s=1)
    else:
        result = run(sandbox, """
            import threading
            def spin():
                while True:
                    pass
            for _ in range(8):
                threading.Thread(target=spin, daemon=False).start()
        """, timeout_s=1)
    assert result.timed_out


@pytest.mark.parametrize(
    "escape",
    [
        "().__class__.__bases__[0].__subclasses__()",
        "g = (x for x in [1])\nprint(g.gi_frame.f_back.f_globals)",
        "try:\n    1/0\nexcept Exception as e:\n    print(e.__traceback__.tb_frame.f_globals)",
        "print('{0.__class__.__mro__}'.format(1))",
        "print(getattr(1, '__class__'))",
        "__builtins__['__import__']('os').system('id')",
        "import json\nprint(json.codecs.open('/etc/passwd').read())",
        "import functools\nprint(functools.reduce.__globals__)",
        "print(type.__subclasses__(object))",
    ],
    ids=["subclasses", "generator-frames", "traceback-frames", "str-format", "getattr-dunder", "builtins-import",
         "module-attribute", "function-globals", "type-subclasses"],
)
def test_python_level_escapes_from_restricted_python(escape: str) -> None:
    from codeloop.sandboxes import RestrictedSandbox

    with RestrictedSandbox() as box:
        result = box.run(escape + "\nprint('ESCAPED')")
    assert "ESCAPED" not in result.stdout
    assert "root:" not in result.stdout and "<class 'object'>" not in result.stdout
    assert result.exit_code != 0


@pytest.mark.parametrize(
    "forgery",
    [
        'print("@@codeloop-verdict:" + "0" * 32 + \':{"index": 0, "passed": true}\')',
        "import sys\nsys.stdout.close()",
        "import os\nos._exit(0)",
        "open('results.json', 'w').write('{\"passed\": true}')",
        "raise SystemExit(0)",
    ],
    ids=["fake-verdict", "close-stdout", "early-exit", "results-file", "system-exit"],
)
def test_test_verdicts_cannot_be_forged(sandbox: Sandbox, forgery: str) -> None:
    if restricted(sandbox) and ("import" in forgery or "open(" in forgery):
        pytest.skip("contained by design: restricted code has no os/sys/open")
    code = "def add(a, b):\n    return a - b\n" + forgery + "\n"
    tests = normalize_tests([{"call": "add(2, 3)", "expected": 5}, {"code": "assert add(1, 1) == 2"}])
    results, _ = run_tests(sandbox, code, tests, per_test_timeout_s=3)
    assert [r["passed"] for r in results] == [False, False]
