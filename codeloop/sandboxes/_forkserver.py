"""The local sandbox's fork server: a stdlib-only program, run as ``python -I -S -c SOURCE``.

It starts once per :class:`~codeloop.sandboxes.LocalSandbox`, inside bubblewrap when
available (no network, read-only host view, its own PID namespace), and never runs
user code itself. For each run the host passes it one end of a fresh socket pair;
the server forks a *supervisor* for that run, which

1. makes itself a child subreaper, so even double-forked, ``setsid`` grandchildren
   come back to it and can be killed;
2. creates a private work dir, writes the files, forks the *user process*, which
   drops to an unprivileged uid (when started as root), sets rlimits and runs the
   code (Python in the already-warm interpreter, or bash through ``execve``);
3. captures stdout/stderr up to a cap, enforces the wall-clock timeout, kills every
   descendant, removes the work dir, and answers with one JSON document.

The host speaks to a supervisor over its socket: one JSON request, then the JSON
reply until EOF. This file must not import codeloop: it runs isolated.
"""

import ctypes
import io
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
import types

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNET = 0x40000000
#: Each run gets its own uid (base + supervisor pid): per-run process limits, and no run can
#: touch another's files or processes.
RUN_UID_BASE = 1000000000
HARNESS = [None]  # the compiled test harness, when the host sent one
READ_CHUNK = 65536


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


LIBC = _libc()


def prctl(option, arg):
    if LIBC is not None:
        LIBC.prctl(option, arg, 0, 0, 0)


def try_unshare_net():
    """Without bubblewrap, root can still drop the network: a new, empty net namespace."""
    if LIBC is None or os.geteuid() != 0:
        return False
    return LIBC.unshare(CLONE_NEWNET) == 0


def descendants():
    """PIDs of every live descendant of this process (via /proc children lists)."""
    found = []
    stack = [os.getpid()]
    while stack:
        pid = stack.pop()
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as fh:
                    kids = [int(x) for x in fh.read().split()]
            except OSError:
                continue
            found.extend(kids)
            stack.extend(kids)
    return found


def kill_all_descendants():
    """SIGKILL and reap everything below this (subreaper) process, until nothing is left."""
    for _ in range(1000):
        pids = descendants()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = -1
            if pid <= 0:
                break
        if not pids and not _has_children():
            return


def _has_children():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return False
    return True


def recv_all(sock):
    chunks = []
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def set_limits(req):
    lim = req["limits"]
    mem = lim["memory_mb"] * 1024 * 1024
    cpu = int(req["timeout_s"]) + 2
    pairs = [
        (resource.RLIMIT_AS, mem),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, lim["max_file_mb"] * 1024 * 1024),
        (resource.RLIMIT_NOFILE, lim["max_open_files"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if req.get("limit_nproc", True):
        pairs.append((resource.RLIMIT_NPROC, lim["max_processes"]))
    for which, value in pairs:
        try:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def write_files(workdir, req):
    for name, spec in req.get("files", {}).items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = spec["b"].encode("latin-1") if "b" in spec else spec["t"].encode("utf-8")
        with open(path, "wb") as fh:
            fh.write(data)
    main = "main.sh" if req["language"] == "bash" else "main.py"
    with open(os.path.join(workdir, main), "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write(req["code"])
    return main


def chown_tree(path, uid):
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)
    os.chown(path, uid, uid)



# -- RestrictedPython mode (RestrictedSandbox) -------------------------------------------

RESTRICTED_IMPORTS = frozenset({
    "math", "cmath", "json", "re", "random", "statistics", "itertools", "functools", "collections", "heapq",
    "bisect", "datetime", "decimal", "fractions", "unicodedata", "textwrap",
})
_EXTRA_BUILTINS = ("range", "dict", "list", "set", "frozenset", "tuple", "min", "max", "sum", "enumerate", "map", "filter",
                   "any", "all", "reversed", "iter", "next", "zip", "sorted", "bytes", "bin", "format", "print")


def restricted_globals():
    """Globals for RestrictedPython code: safe builtins, guards, an import allow-list, print to stdout."""
    import builtins as py_builtins
    import operator

    from RestrictedPython import limited_builtins, safe_builtins
    from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
    from RestrictedPython.Guards import (
        full_write_guard,
        guarded_iter_unpack_sequence,
        guarded_unpack_sequence,
        safer_getattr,
    )

    def guarded_getattr(obj, name, *default):
        value = safer_getattr(obj, name, *default)
        if isinstance(value, types.ModuleType):
            raise AttributeError("access to the module %r is not allowed" % name)
        return value

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level != 0 or name not in RESTRICTED_IMPORTS:
            raise ImportError("import of %r is not allowed in the restricted sandbox" % name)
        return __import__(name, globals, locals, fromlist, level)

    ops = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
           "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
           ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
           "@=": operator.imatmul}

    def inplacevar(op, x, y):
        return ops[op](x, y)

    class StdoutPrint:
        def __init__(self, _getattr_=None):
            pass

        def _call_print(self, *objects, **kwargs):
            kwargs.pop("file", None)
            print(*objects, **kwargs)

        def __call__(self):
            return ""

    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    for name in _EXTRA_BUILTINS:
        allowed[name] = getattr(py_builtins, name)
    allowed["__import__"] = guarded_import
    allowed["_getattr_"] = guarded_getattr
    return {
        "__builtins__": allowed,
        "__name__": "__main__",
        "__metaclass__": type,
        "_print_": StdoutPrint,
        "_getattr_": guarded_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": inplacevar,
        "_apply_": lambda f, *a, **kw: f(*a, **kw),
    }


def restricted_compile(source, filename):
    """RestrictedPython bytecode and the globals it must run with (raises SyntaxError on violations)."""
    import re
    import warnings

    from RestrictedPython import compile_restricted

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # "prints, but never reads 'printed'"
            code = compile_restricted(source, filename, "exec")
    except SyntaxError as exc:
        # Report like CPython does, so the line is found by the feedback parser.
        messages = exc.args[0] if exc.args and isinstance(exc.args[0], tuple) else (str(exc),)
        first = re.match(r"Line (\d+): (.*)", str(messages[0]), re.DOTALL)
        err = SyntaxError(first.group(2) if first else str(messages[0]))
        err.filename, err.lineno = filename, int(first.group(1)) if first else None
        if err.lineno:
            lines = source.splitlines()
            err.text = lines[err.lineno - 1] if 0 < err.lineno <= len(lines) else None
        raise err from None
    return code, restricted_globals()


def run_user(req, workdir, main, fds):
    """In the forked user process: isolate, limit, then run the code. Never returns."""
    try:
        try:
            os.setsid()
        except OSError:
            pass  # already a session leader (PID 1 of a container)
        stdin_r, out_w, err_w = fds
        os.dup2(stdin_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.chdir(workdir)
        set_limits(req)
        if req.get("run_uid"):
            os.setgroups([])
            os.setgid(req["run_uid"])
            os.setuid(req["run_uid"])
        env = dict(req["env"])
        env["HOME"] = env["TMPDIR"] = env["PWD"] = workdir
        if req["language"] == "bash":
            os.execve("/bin/bash", ["bash", main], env)
        os.environ.clear()
        os.environ.update(env)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
        )
        sys.argv = [main]
        sys.path[0:0] = [workdir]
        module = types.ModuleType("__main__")
        module.__file__ = main
        module.__builtins__ = __builtins__
        sys.modules["__main__"] = module
        code = req["code"]
    except BaseException:
        traceback.print_exc()
        os._exit(70)
    status = 0
    try:
        mode = req.get("mode", "python")
        if req.get("harness") and HARNESS[0] is not None:
            if mode == "restricted":
                # codeloop's own harness runs as is; it compiles the candidate and the tests restricted.
                module.__dict__["__codeloop_restricted__"] = restricted_compile
            exec(HARNESS[0], module.__dict__)
        elif mode == "restricted":
            import linecache

            linecache.cache[main] = (len(code), None, code.splitlines(True), main)
            try:
                bytecode, namespace = restricted_compile(code, main)
            except SyntaxError as exc:
                traceback.print_exception(SyntaxError, exc, None)
                raise SystemExit(1) from None
            exec(bytecode, namespace)
        else:
            exec(compile(code, main, "exec"), module.__dict__)
    except SystemExit as exc:
        status = exit_status(exc.code)
    except BaseException as exc:
        # Print the traceback without this runner's own frame.
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        try:
            traceback.print_exception(type(exc), exc, tb)
        except BaseException:
            pass
        status = 1
    # As the interpreter does at exit: wait for non-daemon threads, then run atexit hooks.
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
        import atexit

        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(status)


def exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except BaseException:
        pass
    return 1


def supervise(sock, cfg):
    """One run, from request to reply, over a socket. Runs in a forked child of the server."""
    req = json.loads(recv_all(sock))
    req["run_uid"] = RUN_UID_BASE + os.getpid() if cfg["drop_uid"] else None
    reply = serve_request(req, cfg, close_in_child=sock)
    sock.sendall(json.dumps(reply).encode())
    sock.close()


def serve_request(req, cfg, close_in_child=None):
    """Make a work dir, fork the user process, collect what it does, clean up; return the reply."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    req["env"] = cfg["env"]
    cap = req["limits"]["max_output_bytes"]
    workdir = tempfile.mkdtemp(prefix="run-", dir=cfg["root"])
    reply = {"stdout": "", "stderr": "", "exit_code": None, "timed_out": False, "truncated": False}
    try:
        main = write_files(workdir, req)
        if req.get("run_uid"):
            chown_tree(workdir, req["run_uid"])
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            if close_in_child is not None:
                close_in_child.close()
            run_user(req, workdir, main, (stdin_r, out_w, err_w))
        for fd in (stdin_r, out_w, err_w):
            os.close(fd)
        reply.update(collect(pid, req, start, stdin_w, out_r, err_r, cap))
    except Exception:
        reply["stderr"] += "codeloop sandbox error:\n" + traceback.format_exc()
        reply["exit_code"] = None
        reply["sandbox_error"] = True
    finally:
        kill_all_descendants()
        shutil.rmtree(workdir, ignore_errors=True)
        if os.path.exists(workdir):
            _force_rmtree(workdir)
    return reply


def _force_rmtree(path):
    for root, dirs, _files in os.walk(path):
        for name in dirs:
            try:
                os.chmod(os.path.join(root, name), 0o700)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


def collect(pid, req, start, stdin_w, out_r, err_r, cap):
    """Pump stdin/stdout/stderr until the user process exits or the deadline passes."""
    deadline = start + req["timeout_s"]
    pidfd = os.pidfd_open(pid)
    stdin_data = req.get("stdin", "").encode()
    if not stdin_data:
        os.close(stdin_w)
        stdin_w = -1
    else:
        os.set_blocking(stdin_w, False)
    bufs = {out_r: bytearray(), err_r: bytearray()}
    dropped = {out_r: 0, err_r: 0}
    open_fds = {out_r, err_r}
    exited = False
    timed_out = False
    exited_at = None
    while open_fds:
        now = time.monotonic()
        if not exited and now >= deadline:
            timed_out = True
            _killpg(pid)
            break
        if exited and now - exited_at > 0.2:
            break  # a descendant still holds the pipes: it is killed below
        wait = min(deadline - now, 0.2) if not exited else 0.05
        rlist = list(open_fds) + ([] if exited else [pidfd])
        wlist = [stdin_w] if stdin_w >= 0 else []
        try:
            readable, writable, _ = select.select(rlist, wlist, [], max(wait, 0))
        except InterruptedError:
            continue
        if stdin_w in writable:
            try:
                n = os.write(stdin_w, stdin_data[:READ_CHUNK])
                stdin_data = stdin_data[n:]
            except BrokenPipeError:
                stdin_data = b""
            if not stdin_data:
                os.close(stdin_w)
                stdin_w = -1
        for fd in readable:
            if fd == pidfd:
                exited = True
                exited_at = time.monotonic()
                continue
            data = os.read(fd, READ_CHUNK)
            if not data:
                open_fds.discard(fd)
                continue
            room = cap - len(bufs[fd])
            if room > 0:
                bufs[fd] += data[:room]
            dropped[fd] += max(0, len(data) - max(room, 0))
    if stdin_w >= 0:
        os.close(stdin_w)
    _killpg(pid)
    _, status, usage = os.wait4(pid, 0)
    duration = time.monotonic() - start
    os.close(pidfd)
    for fd in (out_r, err_r):
        os.close(fd)
    exit_code = None
    if not timed_out:
        if os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            exit_code = -os.WTERMSIG(status)
    reply = {
        "stdout": bufs[out_r].decode("utf-8", "replace"),
        "stderr": bufs[err_r].decode("utf-8", "replace"),
        "exit_code": exit_code,
        "timed_out": timed_out,
        "truncated": bool(dropped[out_r] or dropped[err_r]),
        "dropped": [dropped[out_r], dropped[err_r]],
        "duration_s": duration,
        "resources": {"max_rss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime},
    }
    if exit_code is not None and exit_code < 0:
        reply["stderr"] += "\n[codeloop: killed by signal %d]\n" % -exit_code
    return reply


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def serve(control_fd, cfg):
    """Accept one socket per run over the control channel; fork a supervisor for each."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(control, 16, 1)
        except InterruptedError:
            continue
        if not msg:
            return
        if not fds:
            continue
        run_sock = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            control.close()
            try:
                supervise(run_sock, cfg)
            except BaseException:
                try:
                    run_sock.sendall(json.dumps({"sandbox_error": True, "stderr": traceback.format_exc()}).encode())
                except OSError:
                    pass
            os._exit(0)
        run_sock.close()


def oneshot(root):
    """Container mode: one request on stdin (8-digit length, then JSON), one reply on stdout, exit.

    The runner is PID 1 of a fresh container, keeps only the capabilities it needs to drop
    the user process to the run's own uid and to kill it, and supervises it as the fork
    server's supervisor does. The user process never writes to the container's stdout:
    its output comes back inside the reply.
    """
    header = _read_exactly(0, 8)
    req = json.loads(_read_exactly(0, int(header)))
    req["limit_nproc"] = False  # the container's pids limit does this job
    cfg = {"root": root, "env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                                 "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"}}
    if os.geteuid() != 0:
        req["run_uid"] = None
    reply = json.dumps(serve_request(req, cfg)).encode()
    data = b"%08d" % len(reply) + reply
    while data:
        data = data[os.write(1, data):]


def _read_exactly(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError("request ended early")
        data += chunk
    return data


def main():
    if sys.argv[1] == "oneshot":
        oneshot(sys.argv[2])
        return
    cfg = json.loads(sys.argv[1])
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if cfg.get("unshare_net"):
        cfg["net_isolated"] = try_unshare_net()
    os.chmod(cfg["root"], 0o711)
    cfg["drop_uid"] = os.geteuid() == 0
    for name in cfg.get("preload", []):
        __import__(name)  # imported once here, inherited by every forked run
    if cfg.get("harness"):
        # codeloop's test harness, compiled once here instead of once per test run.
        HARNESS[0] = compile(cfg["harness"], "harness.py", "exec")
    # Tell the host what isolation it got, then serve.
    hello = json.dumps({"pid": os.getpid(), "root": cfg["root"], "drop_uid": cfg["drop_uid"],
                        "net_isolated": cfg.get("net_isolated", False)})
    os.write(int(cfg["control_fd"]), hello.encode() + b"\n")
    serve(int(cfg["control_fd"]), cfg)


if __name__ == "__main__":
    main()
