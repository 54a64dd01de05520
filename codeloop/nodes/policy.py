"""An AST-based code policy: early, explainable feedback before anything runs.

The sandbox is the security boundary; this is not. It exists so the model hears
"subprocess is not allowed here" on line 3 instead of a confusing runtime error,
and so ``strict`` users can refuse whole classes of code up front.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

PolicyName = Literal["off", "standard", "strict"]

#: Modules whose import means spawning processes, raw memory, or talking to the network.
_STANDARD_MODULES = frozenset({
    "subprocess", "ctypes", "cffi", "socket", "ssl", "http", "urllib", "ftplib", "smtplib", "telnetlib",
    "requests", "httpx", "multiprocessing.connection", "pty", "resource", "signal",
})
_STRICT_MODULES = _STANDARD_MODULES | {
    "os", "sys", "shutil", "importlib", "builtins", "pathlib", "io", "pickle", "marshal", "threading",
    "multiprocessing", "inspect", "gc", "tempfile", "glob", "code", "codeop",
}
_STANDARD_ATTRS = frozenset({
    ("os", "system"), ("os", "popen"), ("os", "fork"), ("os", "forkpty"), ("os", "kill"), ("os", "killpg"),
    ("os", "execv"), ("os", "execve"), ("os", "execl"), ("os", "execlp"), ("os", "execvp"), ("os", "execvpe"),
    ("os", "spawnl"), ("os", "spawnv"), ("os", "spawnve"), ("os", "posix_spawn"), ("os", "posix_spawnp"),
    ("os", "setuid"), ("os", "chroot"), ("shutil", "rmtree"),
})
_STRICT_CALLS = frozenset({"open", "eval", "exec", "compile", "__import__", "input", "breakpoint", "globals", "vars"})
_ALWAYS_CALLS = frozenset({"__import__"})  # dynamic import: an import nobody can read


@dataclass(frozen=True, slots=True)
class Violation:
    """One policy breach, with where it is and why it matters."""

    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message} [{self.rule}]"


def check_policy(tree: ast.AST, policy: PolicyName) -> list[Violation]:
    """All violations of ``policy`` in ``tree``, in source order."""
    if policy == "off":
        return []
    if policy not in ("standard", "strict"):
        raise ValueError(f"unknown policy {policy!r}: use 'off', 'standard' or 'strict'")
    modules = _STRICT_MODULES if policy == "strict" else _STANDARD_MODULES
    calls = _STRICT_CALLS if policy == "strict" else _ALWAYS_CALLS
    found: list[Violation] = []
    aliases: dict[str, str] = {}  # local name -> module it refers to

    def blocked(module: str) -> str | None:
        parts = module.split(".")
        for i in range(len(parts), 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in modules:
                return prefix
        return None

    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[(alias.asname or alias.name).split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
                if bad := blocked(alias.name):
                    found.append(Violation(line, "import", f"import of '{bad}' is not allowed by the {policy} policy"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if bad := blocked(node.module):
                found.append(Violation(line, "import", f"import from '{bad}' is not allowed by the {policy} policy"))
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if bad := blocked(full):
                    found.append(Violation(line, "import", f"import of '{bad}' is not allowed by the {policy} policy"))
                elif (node.module, alias.name) in _STANDARD_ATTRS:
                    found.append(Violation(line, "call", f"'{node.module}.{alias.name}' is not allowed by the {policy} policy"))
                aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Call):
            found.extend(_check_call(node, calls, policy, aliases))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id, "")
            if (module, node.attr) in _STANDARD_ATTRS:
                found.append(Violation(line, "call", f"'{module}.{node.attr}' is not allowed by the {policy} policy"))
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            found.append(Violation(line, "builtins", "direct use of __builtins__ is not allowed (it bypasses the policy)"))
        elif isinstance(node, ast.Attribute) and node.attr in ("__subclasses__", "__globals__", "__code__", "__builtins__"):
            found.append(Violation(line, "dunder", f"access to '{node.attr}' is not allowed (a classic sandbox escape)"))
    unique = {(v.line, v.rule, v.message): v for v in found}
    return sorted(unique.values(), key=lambda v: (v.line, v.message))


def _check_call(node: ast.Call, calls: frozenset[str], policy: str, aliases: dict[str, str]) -> list[Violation]:
    out: list[Violation] = []
    func = node.func
    line = node.lineno
    name = func.id if isinstance(func, ast.Name) else None
    if name in calls:
        what = "dynamic import" if name == "__import__" else f"'{name}()'"
        out.append(Violation(line, "call", f"{what} is not allowed by the {policy} policy"))
    target = aliases.get(name, "") if name else ""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        target = f"{aliases.get(func.value.id, func.value.id)}.{func.attr}"
    if target in ("importlib.import_module", "importlib.__import__") or target.startswith("importlib."):
        out.append(Violation(line, "call", "dynamic import through importlib is not allowed"))
    if name in ("getattr", "setattr", "delattr") and node.args:
        first = node.args[0]
        if isinstance(first, ast.Name) and first.id in ("__builtins__", "builtins"):
            out.append(Violation(line, "builtins", f"{name}() on {first.id} is not allowed (it bypasses the policy)"))
        if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            attr = node.args[1].value
            if attr.startswith("__") and attr.endswith("__"):
                out.append(Violation(line, "dunder", f"{name}(..., {attr!r}) is not allowed (a classic sandbox escape)"))
    return out
