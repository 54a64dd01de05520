"""Shared fixtures. The one fake is the LLM: LangChain's own fake chat model with scripted replies."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from codeloop import build_graph, scripted_model
from codeloop.sandboxes import LocalSandbox


@pytest.fixture(scope="session")
def local_sandbox() -> Iterator[LocalSandbox]:
    """One real LocalSandbox (fork server, bubblewrap when installed) for the whole session."""
    with LocalSandbox() as sandbox:
        yield sandbox


def fenced(code: str) -> str:
    """A model reply with ``code`` in a python fence."""
    return f"Here you go:\n```python\n{code.strip()}\n```\n"


@pytest.fixture
def run_loop(local_sandbox: LocalSandbox) -> Any:
    """Run the real graph on the real local sandbox with scripted model replies."""

    def run(replies: list[Any], task: str = "Write add(a, b).", tests: Any = None, **options: Any) -> dict[str, Any]:
        graph = build_graph(model=scripted_model(replies), sandbox=local_sandbox, **options)
        inputs: dict[str, Any] = {"task": task}
        if tests is not None:
            inputs["tests"] = tests
        return dict(graph.invoke(inputs))

    return run


def free_port() -> int:
    """A TCP port nobody listens on right now (never assume a well-known one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def host_processes_named(marker: str) -> list[int]:
    """PIDs of host processes whose command line contains ``marker`` (read from /proc, host side)."""
    from pathlib import Path

    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                continue
    return found


def require_docker() -> bool:
    """CI sets CODELOOP_REQUIRE_DOCKER=1: a missing daemon then fails instead of skipping."""
    return os.environ.get("CODELOOP_REQUIRE_DOCKER") == "1"


class PromptAwareModel:
    """Builds a fake chat model whose scripted replies may quote the prompt.

    A reply template's ``{path}`` is filled with the first ``/…/data.<ext>`` path in the
    latest prompt, the way a real model would quote the file it was told about. Every
    prompt is kept in ``prompts``. (The LLM is the one fake here.)
    """

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def model(self) -> Any:
        import re

        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        from langchain_core.messages import AIMessage

        outer = self

        class _Model(GenericFakeChatModel):
            def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
                from langchain_core.outputs import ChatGeneration, ChatResult

                prompt = str(messages[-1].content)
                outer.prompts.append(prompt)
                found = re.search(r"(/\S+/data\.\w+)", prompt)
                text = outer.replies.pop(0).replace("{path}", found.group(1) if found else "")
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

        return _Model(messages=iter([]))
