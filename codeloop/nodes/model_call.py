"""One model call: messages in, code (or a reason there is none) out, with usage and latency."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from codeloop.errors import ModelError
from codeloop.nodes.extract import extract_code
from codeloop.nodes.prompts import NO_CODE_FEEDBACK, TRUNCATED_FEEDBACK
from codeloop.state import Usage

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What one call produced."""

    text: str
    code: str | None
    usage: Usage
    finish_reason: str | None = None
    rationale: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def feedback(self) -> str | None:
        """Why there is no usable code, for the next attempt."""
        if self.code is not None and self.finish_reason != "length":
            return None
        if self.finish_reason == "length":
            return TRUNCATED_FEEDBACK
        return NO_CODE_FEEDBACK


def endpoint_of(model: BaseChatModel) -> str:
    """The base URL or the model name, for error messages."""
    for attr in ("openai_api_base", "base_url"):
        value = getattr(model, attr, None)
        if value:
            return str(value)
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__)


def to_model_error(exc: BaseException, model: BaseChatModel) -> ModelError:
    """Wrap a client error; ``transient`` tells the retry policy whether to try again."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    name = type(exc).__name__
    transient = (
        status in _TRANSIENT_STATUS
        or (status is None and any(word in name for word in ("Connection", "Timeout", "RemoteProtocol", "ReadError")))
    )
    where = endpoint_of(model)
    text = f"the model call to {where} failed"
    text += f" with HTTP {status}" if status else f" ({name})"
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    if detail:
        text += f": {detail}"
    err = ModelError(text, endpoint=where, status_code=status)
    err.transient = transient  # type: ignore[attr-defined]
    return err


def is_transient(exc: BaseException) -> bool:
    """Retry predicate for LangGraph's RetryPolicy on the model nodes."""
    return bool(getattr(exc, "transient", False))


def call_model(model: BaseChatModel, messages: list[BaseMessage]) -> ModelReply:
    """Invoke ``model`` and extract the code from its reply.

    Raises:
        ModelError: the client failed (``transient`` set for retryable failures).
    """
    started = time.perf_counter()
    try:
        response = model.invoke(messages)
    except ModelError:
        raise
    except Exception as exc:
        raise to_model_error(exc, model) from exc
    seconds = time.perf_counter() - started
    text = response.text if isinstance(response.text, str) else str(response.content)
    meta = getattr(response, "usage_metadata", None) or {}
    usage: Usage = {
        "input_tokens": int(meta.get("input_tokens", 0)),
        "output_tokens": int(meta.get("output_tokens", 0)),
        "calls": 1,
        "model_seconds": round(seconds, 6),
    }
    finish = (getattr(response, "response_metadata", None) or {}).get("finish_reason")
    return ModelReply(text=text, code=extract_code(text), usage=usage, finish_reason=finish)
