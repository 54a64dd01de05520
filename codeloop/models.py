"""Choosing a chat model: an instance, ``openai:NAME``, ``scripted:FILE``, or the environment's default."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from codeloop.errors import ConfigError, ModelError
from codeloop.files import read_json_or_yaml

DEFAULT_MODEL = "gpt-4o-mini"

NO_MODEL_HELP = (
    "No model is configured. codeloop talks to any OpenAI-compatible chat API through langchain-openai: "
    "set OPENAI_API_KEY for OpenAI itself, or OPENAI_BASE_URL for a local server such as vLLM, Ollama or "
    "llama.cpp (e.g. OPENAI_BASE_URL=http://localhost:11434/v1; any key works there), and CODELOOP_MODEL "
    "for the model name (default gpt-4o-mini). Or pass --model scripted:FILE to replay canned replies "
    "offline, or give build_graph() any LangChain chat model."
)


class _Replies(Iterator[AIMessage]):
    """Scripted replies that end with a clear error instead of a bare StopIteration."""

    def __init__(self, messages: list[AIMessage], source: str) -> None:
        self._messages = messages
        self._source = source
        self._next = 0

    def __next__(self) -> AIMessage:
        if self._next >= len(self._messages):
            raise ModelError(f"the scripted model {self._source} has no reply left (it had {len(self._messages)})",
                             endpoint=self._source)
        self._next += 1
        return self._messages[self._next - 1]


def scripted_model(replies: list[Any], source: str = "scripted") -> BaseChatModel:
    """A LangChain fake chat model that replays ``replies`` in order.

    Each reply is a string, or a mapping with ``content`` and optional ``usage``
    (``input_tokens``/``output_tokens``) and ``finish_reason``.
    """
    messages = []
    for i, reply in enumerate(replies):
        if isinstance(reply, str):
            messages.append(AIMessage(content=reply))
        elif isinstance(reply, Mapping) and isinstance(reply.get("content"), str):
            kwargs: dict[str, Any] = {"content": reply["content"]}
            if usage := reply.get("usage"):
                inp, out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
                kwargs["usage_metadata"] = {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}
            if reply.get("finish_reason"):
                kwargs["response_metadata"] = {"finish_reason": reply["finish_reason"]}
            messages.append(AIMessage(**kwargs))
        else:
            raise ConfigError(f"scripted reply {i} in {source} must be a string or a mapping with 'content'")
    return GenericFakeChatModel(messages=_Replies(messages, source))


def load_scripted(path: str | Path, *, skip: int = 0) -> BaseChatModel:
    """A scripted model from a JSON or YAML file: a list of replies, or ``{"replies": [...]}``.

    ``skip`` drops replies a resumed run already used.
    """
    file = Path(path)
    data = read_json_or_yaml(file, "scripted replies file")
    if isinstance(data, Mapping):
        data = data.get("replies")
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{file} must hold a non-empty list of replies (or {{'replies': [...]}})")
    return scripted_model(data[skip:], source=str(file))


def make_model(
    spec: str | BaseChatModel | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    temperature: float | None = 0.2,
    max_tokens: int | None = None,
    timeout_s: float | None = 120.0,
    streaming: bool = False,
    env: Mapping[str, str] | None = None,
) -> BaseChatModel:
    """Resolve a model spec to a chat model.

    Args:
        spec: a chat model (returned as is), ``openai:NAME`` or a bare model name,
            ``scripted:FILE``, or None for ``CODELOOP_MODEL`` (default gpt-4o-mini).
        base_url: an OpenAI-compatible endpoint (default ``OPENAI_BASE_URL``).
        streaming: stream the reply over SSE (usage still recorded).
        env: where to read ``OPENAI_*``/``CODELOOP_MODEL`` (default ``os.environ``);
            only the edges (CLI, Studio) rely on the default.

    Raises:
        ConfigError: nothing usable is configured; the message says what to set.
    """
    if isinstance(spec, BaseChatModel):
        return spec
    env = os.environ if env is None else env
    spec = spec or env.get("CODELOOP_MODEL") or DEFAULT_MODEL
    if spec.startswith("scripted:"):
        return load_scripted(spec.removeprefix("scripted:"))
    name = spec.removeprefix("openai:")
    if ":" in spec and not spec.startswith("openai:"):
        raise ConfigError(f"unknown model provider in {spec!r}: use openai:NAME, scripted:FILE, or a model instance")
    base_url = base_url or env.get("OPENAI_BASE_URL") or None
    api_key = api_key or env.get("OPENAI_API_KEY") or None
    if not api_key and not base_url:
        raise ConfigError(NO_MODEL_HELP)
    from langchain_openai import ChatOpenAI

    kwargs: dict[str, Any] = {
        "model": name,
        "api_key": api_key or "not-needed",
        "base_url": base_url,
        "timeout": timeout_s,
        "max_retries": 0,  # the graph's RetryPolicy retries, so retries are counted once
        "streaming": streaming,
        "stream_usage": True,
    }
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens is not None:
        kwargs["max_completion_tokens"] = max_tokens
    return ChatOpenAI(**kwargs)
