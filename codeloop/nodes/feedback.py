"""Turn what a run printed into structured feedback: error type, message, line, trimmed traceback."""

from __future__ import annotations

import re
from typing import Any

from codeloop.sandboxes.base import ExecutionResult

_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration)|[A-Z]\w*)(?::\s?(?P<msg>.*))?$")


def parse_traceback(stderr: str, user_file: str = "main.py") -> dict[str, Any] | None:
    """The last Python traceback in ``stderr``, trimmed to the user's frames, or None.

    Returns:
        ``{"type", "message", "line", "code_line", "traceback"}``; ``line`` is the
        deepest line of the user's own file, ``traceback`` keeps only its frames.
    """
    lines = stderr.splitlines()
    start = None
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last):"):
            start = i
    if start is None:
        return _bare_error(lines, user_file)
    kept: list[str] = ["Traceback (most recent call last):"]
    user_line: int | None = None
    code_line: str | None = None
    i = start + 1
    exc_type, message = "Error", ""
    while i < len(lines):
        frame = _FRAME.match(lines[i])
        if frame:
            body: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].startswith("    "):
                body.append(lines[j])
                j += 1
            if frame["file"] == user_file:
                kept.append(lines[i])
                kept.extend(body)
                user_line = int(frame["line"])
                code_line = body[0].strip() if body else None
            i = j
            continue
        if lines[i].startswith(" ") or not lines[i].strip():
            i += 1
            continue
        match = _EXC.match(lines[i])
        if match:
            exc_type, message = match["type"], (match["msg"] or "")
            kept.append(lines[i])
            kept.extend(lines[i + 1 : i + 4] if exc_type.endswith("SyntaxError") else [])
            break
        i += 1
    return {"type": exc_type, "message": message, "line": user_line, "code_line": code_line, "traceback": "\n".join(kept)}


def _bare_error(lines: list[str], user_file: str) -> dict[str, Any] | None:
    """A SyntaxError is printed without a 'Traceback' header."""
    for i, line in enumerate(lines):
        frame = _FRAME.match(line)
        if frame and frame["file"] == user_file:
            for tail in lines[i + 1 :]:
                match = _EXC.match(tail)
                if match and "Error" in match["type"]:
                    return {"type": match["type"], "message": match["msg"] or "", "line": int(frame["line"]),
                            "code_line": lines[i + 1].strip() if i + 1 < len(lines) else None,
                            "traceback": "\n".join(lines[i:])}
    return None


def describe_failure(result: ExecutionResult, user_file: str = "main.py") -> tuple[str, dict[str, Any]]:
    """A short text for the fix node, and the structured error behind it."""
    if result.timed_out:
        error = {"type": "Timeout", "message": f"killed after {result.duration_s:.1f}s", "line": None}
        return (f"The program did not finish: it was killed after {result.duration_s:.1f}s "
                "(an infinite loop, a blocking read of input, or an algorithm that is too slow).", error)
    parsed = parse_traceback(result.stderr, user_file)
    if parsed is None:
        error = {"type": "ExitCode", "message": f"exit code {result.exit_code}", "line": None}
        tail = result.stderr.strip()[-1500:]
        return f"The program exited with code {result.exit_code}." + (f"\nstderr:\n{tail}" if tail else ""), error
    if parsed["type"] == "MemoryError":
        parsed["message"] = parsed["message"] or "the program ran out of memory (the sandbox caps memory)"
    where = f" at line {parsed['line']}" if parsed["line"] else ""
    text = f"The program raised {parsed['type']}{where}: {parsed['message']}"
    if parsed.get("code_line"):
        text += f"\n    {parsed['code_line']}"
    text += f"\n{parsed['traceback']}"
    return text, parsed
