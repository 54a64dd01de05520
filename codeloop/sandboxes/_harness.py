"""The test harness: a stdlib-only program that the test node runs inside a sandbox.

It reads one JSON spec from stdin (the candidate code, the tests, a per-run nonce),
loads the candidate once, then runs each test in its own forked child with its own
timeout, so a test that hangs or crashes cannot hide the others' verdicts.

Verdicts travel on a private duplicate of the original stdout, as lines tagged
with the nonce, and only this parent process writes them: printing a fake verdict,
closing stdout or exiting early cannot produce a pass. Expected values are not
compared here: the actual value is sent back as plain JSON and compared on the
host, so an object with a rigged ``__eq__`` cannot pass a value test either.
"""

import json
import linecache
import math
import os
import select
import signal
import sys
import time
import traceback

_spec = json.loads(sys.stdin.read())
_NONCE = _spec.pop("nonce")
_OUT = os.dup(1)
_MARK = "@@codeloop-verdict:"
SOLUTION = "solution.py"
MAX_REPR = 2000


class NotPlain(Exception):
    pass


def plain(value, depth=0):
    """The value as strict JSON, or NotPlain. Exact types only: no subclasses with rigged methods."""
    if depth > 50:
        raise NotPlain("too deeply nested")
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return {"__float__": repr(value)}
    if kind is list or kind is tuple:
        return [plain(v, depth + 1) for v in value]
    if kind is dict:
        if all(type(k) is str for k in value):
            return {k: plain(v, depth + 1) for k, v in value.items()}
        raise NotPlain("dict with non-string keys")
    if kind is set or kind is frozenset:
        items = [plain(v, depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            raise NotPlain("unsortable set") from None
    raise NotPlain(kind.__name__)


def short_repr(value):
    try:
        text = repr(value)
    except BaseException as exc:  # a rigged __repr__ is the program's problem, not ours
        text = "<unrepresentable: %s>" % type(exc).__name__
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "..."


def describe_error(exc):
    """Exception type, message, and the traceback trimmed to the candidate's and the test's frames."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == SOLUTION or f.filename.startswith("<test")]
    try:
        message = str(exc)
    except BaseException:
        message = ""
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    line = None
    for frame in frames:
        if frame.filename == SOLUTION:
            line = frame.lineno
    return {"type": type(exc).__name__, "message": message[:MAX_REPR], "line": line, "traceback": "".join(lines)[-4000:]}


def compile_for(source, filename):
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    restricted = globals().get("__codeloop_restricted__")
    if restricted is not None:
        return restricted(source, filename)
    return compile(source, filename, "exec"), None


def run_test(index, test, namespace):
    """Run one test in the current process; return its raw outcome."""
    filename = "<test %d>" % index
    try:
        if test["kind"] == "call":
            code, extra = compile_for("codeloop_actual = (%s)\n" % test["call"], filename)
        else:
            code, extra = compile_for(test["code"], filename)
        if extra:
            namespace.update(extra)
        exec(code, namespace)
    except _TestTimeout:
        return {"passed": False, "timed_out": True, "error": {"type": "Timeout", "message": "test timed out"}}
    except BaseException as exc:
        if isinstance(exc, AssertionError) and test["kind"] == "code":
            return {"passed": False, "error": describe_error(exc), "assertion": True}
        return {"passed": False, "error": describe_error(exc)}
    if test["kind"] == "call":
        actual = namespace.get("codeloop_actual")
        outcome = {"actual_repr": short_repr(actual)}
        try:
            outcome["actual"] = plain(actual)
        except NotPlain as why:
            outcome["not_plain"] = str(why)
        return outcome
    return {"passed": True}


def emit(record):
    line = "\n%s%s:%s\n" % (_MARK, _NONCE, json.dumps(record))
    data = line.encode()
    while data:
        data = data[os.write(_OUT, data):]


def run_forked(index, test, namespace, timeout_s):
    """One test in a child process: the parent reads its outcome from a private pipe."""
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        outcome = run_test(index, test, namespace)
        signal.setitimer(signal.ITIMER_REAL, 0)
        data = json.dumps(outcome).encode()
        try:
            while data:
                data = data[os.write(write_end, data):]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    deadline = started + timeout_s + 0.5
    timed_out = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_end], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    duration = time.monotonic() - started
    raw = b"".join(chunks)
    if timed_out:
        return {"passed": False, "timed_out": True, "error": {"type": "Timeout", "message": "test timed out after %.1fs" % timeout_s}}, duration
    try:
        return json.loads(raw), duration
    except ValueError:
        how = "signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exit code %d" % os.WEXITSTATUS(status)
        return {"passed": False, "error": {"type": "Crash", "message": "the test process ended without a verdict (%s)" % how}}, duration


class _TestTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _TestTimeout("test timed out")


def main():
    tests = _spec["tests"]
    timeout_s = float(_spec.get("per_test_timeout_s", 5.0))
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        with open(SOLUTION, "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(_spec["code"])  # for tests that compare programs (transform's oracle test)
    except OSError:
        pass
    load_started = time.monotonic()
    try:
        code, extra = compile_for(_spec["code"], SOLUTION)
        if extra:
            namespace.update(extra)
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        exec(code, namespace)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        emit({"load_error": describe_error(exc), "duration_s": time.monotonic() - load_started})
        emit({"done": 0})
        return
    for index, test in enumerate(tests):
        if len(tests) == 1:
            # Alone, a test needs no fork to protect the others' verdicts: a hang is stopped by
            # the timer (or the sandbox's own deadline), a crash leaves no verdict = a failure.
            started = time.monotonic()
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
            try:
                outcome = run_test(index, test, namespace)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            duration = time.monotonic() - started
        else:
            outcome, duration = run_forked(index, test, namespace, timeout_s)
        outcome["index"] = index
        outcome["duration_s"] = duration
        emit(outcome)
    emit({"done": len(tests)})


main()
