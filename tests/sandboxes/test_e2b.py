"""E2BSandbox. E2B's cloud cannot be reached from here, so most tests drive a fake of the
SDK's ``Sandbox`` object (marked ``fake_sdk``): they check the mapping onto ExecutionResult,
sandbox reuse and renewal, and the missing-key error. A live test runs when E2B_API_KEY is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from e2b_code_interpreter import CommandExitException, SandboxNotFoundException, TimeoutException

from codeloop.errors import SandboxUnavailableError
from codeloop.sandboxes import E2BSandbox, make_sandbox


@dataclass
class FakeResult:
    stdout: str
    stderr: str
    exit_code: int


@dataclass
class FakeBox:
    """Stands in for e2b's Sandbox: records files and commands, answers from a script."""

    owner: FakeSDK
    files_written: dict[str, Any] = field(default_factory=dict)
    commands_run: list[str] = field(default_factory=list)
    killed: bool = False

    @property
    def files(self) -> FakeBox:
        return self

    @property
    def commands(self) -> FakeBox:
        return self

    def write(self, path: str, data: Any) -> None:
        self.files_written[path] = data

    def run(self, cmd: str, timeout: float, envs: dict[str, str]) -> FakeResult:
        self.commands_run.append(cmd)
        outcome = self.owner.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def kill(self) -> None:
        self.killed = True


class FakeSDK:
    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.boxes: list[FakeBox] = []
        self.create_kwargs: list[dict[str, Any]] = []

    def create(self, **kwargs: Any) -> FakeBox:
        self.create_kwargs.append(kwargs)
        box = FakeBox(self)
        self.boxes.append(box)
        return box


def exit_exception(stdout: str, stderr: str, code: int) -> CommandExitException:
    exc = CommandExitException.__new__(CommandExitException)
    exc.stdout, exc.stderr, exc.exit_code, exc.error = stdout, stderr, code, None  # type: ignore[attr-defined]
    return exc


pytestmark = pytest.mark.fake_sdk


def test_constructible_with_no_arguments_and_clear_error_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    sandbox = make_sandbox("e2b")
    assert isinstance(sandbox, E2BSandbox)
    with pytest.raises(SandboxUnavailableError, match="E2B_API_KEY"):
        sandbox.run("print(1)")


def test_python_run_maps_onto_the_result_and_reuses_the_sandbox() -> None:
    sdk = FakeSDK([FakeResult("42\n", "", 0), exit_exception("", "Traceback...\nZeroDivisionError\n", 1)])
    with E2BSandbox(api_key="k", sdk=sdk) as sandbox:
        ok = sandbox.run("print(42)", files={"data.csv": "a,b\n"}, stdin="x")
        bad = sandbox.run("1/0")
    assert (ok.stdout, ok.exit_code, ok.backend, ok.timed_out) == ("42\n", 0, "e2b", False)
    assert bad.exit_code == 1 and "ZeroDivisionError" in bad.stderr
    assert len(sdk.boxes) == 1 and sdk.boxes[0].killed  # one VM for both runs, killed on close
    assert sdk.create_kwargs[0]["allow_internet_access"] is False
    written = sdk.boxes[0].files_written
    assert any(p.endswith("/main.py") and v == "print(42)" for p, v in written.items())
    assert any(p.endswith("/data.csv") for p in written)
    command = sdk.boxes[0].commands_run[0]
    assert "timeout -k 1 10 python3 main.py" in command and "rm -rf" in command and "ulimit -v" in command


def test_bash_and_timeouts() -> None:
    sdk = FakeSDK([FakeResult("hi\n", "", 0), exit_exception("", "", 124), TimeoutException("deadline")])
    with E2BSandbox(api_key="k", sdk=sdk) as sandbox:
        assert sandbox.run("echo hi", language="bash").stdout == "hi\n"
        assert "bash main.sh" in sdk.boxes[0].commands_run[0]
        killed = sandbox.run("sleep 100", language="bash", timeout_s=1)
        assert killed.timed_out and killed.exit_code is None
        assert sandbox.run("while True: pass", timeout_s=1).timed_out


def test_an_expired_sandbox_is_renewed_once() -> None:
    sdk = FakeSDK([SandboxNotFoundException("sandbox expired"), FakeResult("ok\n", "", 0)])
    with E2BSandbox(api_key="k", sdk=sdk) as sandbox:
        assert sandbox.run("print('ok')").stdout == "ok\n"
    assert sandbox.created == 2


def test_other_sdk_failures_are_sandbox_errors() -> None:
    sdk = FakeSDK([RuntimeError("boom")])
    with E2BSandbox(api_key="k", sdk=sdk) as sandbox, pytest.raises(SandboxUnavailableError, match="boom"):
        sandbox.run("print(1)")


def test_output_is_capped() -> None:
    from codeloop.sandboxes import SandboxLimits

    sdk = FakeSDK([FakeResult("x" * 5000, "", 0)])
    with E2BSandbox(api_key="k", sdk=sdk, limits=SandboxLimits(max_output_bytes=100)) as sandbox:
        result = sandbox.run("print('x' * 5000)")
    assert result.truncated and result.stdout.startswith("x" * 100) and "4900 more bytes" in result.stdout


@pytest.mark.skipif(not os.environ.get("E2B_API_KEY"), reason="live E2B test: set E2B_API_KEY")
def test_live_e2b() -> None:
    with E2BSandbox() as sandbox:
        assert sandbox.run("print(6 * 7)").stdout == "42\n"
        assert sandbox.run("echo hi", language="bash").stdout == "hi\n"
        assert sandbox.run("while True: pass", timeout_s=2).timed_out
