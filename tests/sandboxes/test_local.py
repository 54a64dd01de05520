"""LocalSandbox specifics: what only a local child process can be checked for, from the host."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest

from codeloop.sandboxes import LocalSandbox

from ..conftest import host_processes_named

ESCAPER = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["{marker}", "300"])
    os._exit(0)
time.sleep(60)
"""


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bwrap", "no-bwrap"])
def test_timeout_kills_a_daemonised_grandchild(bubblewrap: bool) -> None:
    if bubblewrap and not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed")
    marker = f"codeloop-escape-{uuid.uuid4().hex}"
    with LocalSandbox(use_bubblewrap=bubblewrap) as sandbox:
        result = sandbox.run(ESCAPER.format(marker=marker), timeout_s=1.0)
        assert result.timed_out and result.exit_code is None
        deadline = time.monotonic() + 5
        while host_processes_named(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host_processes_named(marker) == []


def test_isolation_is_reported() -> None:
    with LocalSandbox() as sandbox:
        isolation = sandbox.isolation
        assert isolation.bubblewrap is bool(shutil.which("bwrap"))
        if isolation.bubblewrap:
            assert not isolation.network and isolation.read_only_host and isolation.pid_namespace
    with LocalSandbox(use_bubblewrap=False) as sandbox:
        assert sandbox.isolation.bubblewrap is False
        assert "no bubblewrap" in sandbox.isolation.describe()


def test_without_bubblewrap_the_temp_dir_is_removed_on_the_host() -> None:
    with LocalSandbox(use_bubblewrap=False) as sandbox:
        result = sandbox.run("import os\nopen('left.txt', 'w').write('x')\nos.mkdir('d')\nos.chmod('d', 0)\nprint(os.getcwd())")
        workdir = Path(result.stdout.strip())
        assert workdir.is_absolute()
        assert not workdir.exists()


def test_the_caller_environment_never_reaches_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOOP_TEST_SECRET", "hunter2")
    with LocalSandbox() as sandbox:  # started after the secret was set
        result = sandbox.run("import os\nprint(sorted(os.environ.items()))")
    assert "hunter2" not in result.stdout
    assert "CODELOOP_TEST_SECRET" not in result.stdout


def test_a_killed_server_is_restarted() -> None:
    with LocalSandbox() as sandbox:
        assert sandbox.run("print(1)").stdout == "1\n"
        assert sandbox._proc is not None
        sandbox._proc.kill()
        sandbox._proc.wait()
        assert sandbox.run("print(2)").stdout == "2\n"


def test_site_packages_are_opt_in() -> None:
    with LocalSandbox() as sandbox:
        assert "ModuleNotFoundError" in sandbox.run("import yaml").stderr
