"""Pull the code out of a model reply: fences, several blocks, bare code, ``<think>`` preambles."""

from __future__ import annotations

import ast
import re

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_OPENER = re.compile(r"^[^`~]*?(`{3,}|~{3,})[ \t]*([\w+.-]*)")
_CLOSER = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*$")
#: Blocks larger than this are not parsed to choose between them (parsing megabytes is slow).
_PARSE_LIMIT = 200_000


def fenced_blocks(text: str) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """(language tag, body) of each closed fence, and an unclosed last one if any; linear time."""
    blocks: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        opened = _OPENER.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, tag = opened.group(1), opened.group(2).lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _CLOSER.match(lines[j])
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                break
            body.append(lines[j])
            j += 1
        if j >= len(lines):
            return blocks, (tag, "\n".join(body))
        blocks.append((tag, "\n".join(body)))
        i = j + 1
    return blocks, None
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
    closed, unclosed = fenced_blocks(text)
    blocks = [body for tag, body in closed if tag in tags]
    if not blocks and unclosed is not None and unclosed[0] in tags:
        blocks = [unclosed[1]]  # a reply cut off mid-block (finish_reason == "length")
    blocks = [b.strip("\n") for b in blocks if b.strip()]
    if blocks:
        if language != "python" or any(len(b) > _PARSE_LIMIT for b in blocks):
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
    if len(text) > _PARSE_LIMIT:
        return None  # megabytes of unfenced text: not worth parsing line by line
    lines = text.splitlines()
    tries = 0
    for i, line in enumerate(lines):
        if _CODE_START.match(line):
            candidate = "\n".join(lines[i:]).strip()
            if _parses(candidate) and _looks_like_code(candidate):
                return candidate
            tries += 1
            if tries == 3:  # prose before the code is a line or two, not a page
                break
    return None


def _looks_like_code(candidate: str) -> bool:
    """A prose sentence can parse as an expression; code has statements or calls."""
    tree = ast.parse(candidate)
    return any(not isinstance(node, ast.Expr) or isinstance(node.value, ast.Call) for node in tree.body)
