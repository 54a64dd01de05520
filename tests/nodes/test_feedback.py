"""Error parsing: a traceback becomes type, message, user line and user frames only."""

from __future__ import annotations

from codeloop.nodes.feedback import describe_failure, parse_traceback
from codeloop.sandboxes import LocalSandbox


def test_traceback_trimmed_to_user_frames() -> None:
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/runpy.py", line 10, in run\n    exec(code)\n'
        '  File "main.py", line 7, in <module>\n    main()\n'
        '  File "main.py", line 3, in main\n    return 1 / 0\n'
        "ZeroDivisionError: division by zero\n"
    )
    parsed = parse_traceback(stderr)
    assert parsed is not None
    assert parsed["type"] == "ZeroDivisionError"
    assert parsed["message"] == "division by zero"
    assert parsed["line"] == 3 and parsed["code_line"] == "return 1 / 0"
    assert "runpy" not in parsed["traceback"]


def test_real_failures_from_the_sandbox(local_sandbox: LocalSandbox) -> None:
    result = local_sandbox.run("def f(x):\n    return x['k']\n\nf({})\n")
    text, error = describe_failure(result)
    assert error["type"] == "KeyError" and error["line"] == 2
    assert "KeyError at line 2" in text

    result = local_sandbox.run("while True:\n    pass\n", timeout_s=0.5)
    text, error = describe_failure(result)
    assert error["type"] == "Timeout" and "did not finish" in text

    result = local_sandbox.run("import sys\nsys.exit('bad config')")
    text, error = describe_failure(result)
    assert result.exit_code == 1 and "bad config" in text

    result = local_sandbox.run("x = bytearray(4 * 1024**3)")
    _, error = describe_failure(result)
    assert error["type"] == "MemoryError"
