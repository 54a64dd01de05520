"""Pull the code out of a model reply: fences, several blocks, bare code, ``<think>`` preambles."""

from __future__ import annotations

import ast
import re

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^[^\n`~]*?(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
_OPEN_FENCE = re.compile(r"^[^\n`~]*?(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*\n(.*)\Z", re.DOTALL | re.MULTILINE)
_PY_TAGS = {"", "python", "py", "python3", "py3"}
_CODE_START = re.compile(r"^(def |class |import |from |@|async def |if __name__|[A-Za-z_][\w.]*\s*(=|\())")


def strip_thinking(reply: str) -> str:
    """Remove reasoning blocks (``<think>...</think>``), even an unclosed one."""
    return _THINK.sub("", reply)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _top_names(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def extract_code(reply: str, language: str = "python") -> str | None:
    """The code in ``reply``, or None when it holds none (a refusal, prose only).

    Fenced blocks win. Of several Python blocks, those that parse and define
    different names are joined (helper + solution); when they overlap, the
    longest one is taken. Without fences, the reply counts as code when it
    parses from its first code-looking line on.
    """
    text = strip_thinking(reply).strip()
    if not text:
        return None
    tags = _PY_TAGS if language == "python" else {"", "bash", "sh", "shell", "zsh"}
    blocks = [m.group(3) for m in _FENCE.finditer(text) if m.group(2).lower() in tags]
    if not blocks:
        # A reply cut off mid-block (finish_reason == "length") still has an opening fence.
        opened = _OPEN_FENCE.search(text)
        if opened and opened.group(2).lower() in tags:
            blocks = [opened.group(3)]
    blocks = [b.strip("\n") for b in blocks if b.strip()]
    if blocks:
        if language != "python":
            return max(blocks, key=len)
        good = [b for b in blocks if _parses(b)]
        if not good:
            return max(blocks, key=len)
        if len(good) > 1:
            seen: set[str] = set()
            disjoint = True
            for block in good:
                names = _top_names(block)
                if names & seen or not names:
                    disjoint = False
                seen |= names
            if disjoint:
                return "\n\n".join(good)
        return max(good, key=len)
    if language != "python":
        return None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _CODE_START.match(line):
            candidate = "\n".join(lines[i:]).strip()
            if _parses(candidate) and _looks_like_code(candidate):
                return candidate
    return None


def _looks_like_code(candidate: str) -> bool:
    """A prose sentence can parse as an expression; code has statements or calls."""
    tree = ast.parse(candidate)
    return any(not isinstance(node, ast.Expr) or isinstance(node.value, ast.Call) for node in tree.body)
