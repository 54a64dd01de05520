"""One model call: messages in, code (or the reason there is none) out, with usage and latency.

Plain-text replies (code in fences) work with every chat model. Where a model supports
tool calling, the call asks for a :class:`CodeAnswer` (code plus a short rationale) and
falls back to plain text for good when the endpoint rejects tools, and per reply when
the model answers in prose anyway.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel, Field

from codeloop.errors import ModelError
from codeloop.nodes.extract import extract_code
from codeloop.nodes.prompts import NO_CODE_FEEDBACK, TRUNCATED_FEEDBACK
from codeloop.state import Usage

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
_TRANSIENT_NAMES = ("Connection", "Timeout", "RemoteProtocol", "ReadError", "ResponseValidation", "JSONDecode")
#: The longest Retry-After the node honours itself before the retry policy takes over.
MAX_RETRY_AFTER_S = 30.0


class CodeAnswer(BaseModel):
    """The answer to a coding request: the complete program and why it looks this way."""

    code: str = Field(description="The complete, runnable Python program, without markdown fences.")
    rationale: str = Field(default="", description="One or two sentences: the approach, or what the fix changes.")
    wrong_tests: list[str] = Field(
        default_factory=list,
        description="Names of failing *generated* tests you are sure are themselves wrong (they will be dropped).",
    )


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What one call produced."""

    text: str
    code: str | None
    usage: Usage
    finish_reason: str | None = None
    rationale: str | None = None
    structured: bool = False

    @property
    def feedback(self) -> str | None:
        """Why there is no usable code, for the next attempt (None when there is code)."""
        if self.finish_reason == "length":
            return TRUNCATED_FEEDBACK
        if self.code is None:
            return NO_CODE_FEEDBACK
        return None


def endpoint_of(model: BaseChatModel) -> str:
    """The base URL or the model name, for error messages."""
    for attr in ("openai_api_base", "base_url"):
        value = getattr(model, attr, None)
        if value:
            return str(value)
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__)


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return int(status) if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def to_model_error(exc: BaseException, model: BaseChatModel) -> ModelError:
    """Wrap a client error; ``transient`` tells the retry policy whether to try again."""
    status = _status_of(exc)
    name = type(exc).__name__
    garbled = any(word in name for word in _TRANSIENT_NAMES)  # resets, timeouts, a body that is not JSON
    transient = status in _TRANSIENT_STATUS or (garbled and (status is None or status < 400))
    where = endpoint_of(model)
    text = f"the model call to {where} failed" + (f" with HTTP {status}" if status else f" ({name})")
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    if detail:
        text += f": {detail}"
    if not transient:
        text += " (not retried: this will not succeed by trying again)"
    return ModelError(text, endpoint=where, status_code=status, transient=transient, retry_after=_retry_after(exc))


def is_transient(exc: BaseException) -> bool:
    """Retry predicate for LangGraph's RetryPolicy on the model nodes."""
    return isinstance(exc, ModelError) and exc.transient


def _usage(message: AIMessage, seconds: float) -> Usage:
    meta = getattr(message, "usage_metadata", None) or {}
    return {
        "input_tokens": int(meta.get("input_tokens", 0)),
        "output_tokens": int(meta.get("output_tokens", 0)),
        "calls": 1,
        "model_seconds": round(seconds, 6),
    }


def _finish_reason(message: AIMessage) -> str | None:
    reason = (getattr(message, "response_metadata", None) or {}).get("finish_reason")
    return str(reason) if reason else None


@dataclass
class ModelCaller:
    """Calls one chat model for the generate and fix nodes, sharing what it learns about it.

    Args:
        model: any LangChain chat model.
        structured: ask for a :class:`CodeAnswer` through tool calling (None: when the
            model class supports it).
    """

    model: BaseChatModel
    structured: bool | None = None
    _runnable: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.structured is False:
            return
        try:
            self._runnable = self.model.with_structured_output(CodeAnswer, method="function_calling", include_raw=True)
        except (NotImplementedError, ValueError, TypeError):
            self._runnable = None
        self.structured = self._runnable is not None

    def __call__(self, messages: list[BaseMessage]) -> ModelReply:
        """Invoke the model once (structured when possible).

        Raises:
            ModelError: the client failed (``transient`` set for retryable failures).
        """
        if self.structured:
            try:
                return self._call_structured(messages)
            except ModelError as err:
                if err.transient or err.status_code not in (400, 404, 405, 415, 422, 501):
                    raise
                with self._lock:  # the endpoint rejects tools: plain text from now on
                    self.structured = False
        return self._call_plain(messages)

    def plain(self, messages: list[BaseMessage]) -> ModelReply:
        """One plain-text call, whatever the structured setting (for replies that are not a program)."""
        return self._call_plain(messages)

    def _invoke(self, runnable: Any, messages: list[BaseMessage]) -> tuple[Any, float]:
        started = time.perf_counter()
        try:
            result = runnable.invoke(messages)
        except ModelError:
            raise
        except Exception as exc:
            err = to_model_error(exc, self.model)
            if err.transient and err.retry_after:
                time.sleep(min(err.retry_after, MAX_RETRY_AFTER_S))  # honour Retry-After before the retry
            raise err from exc
        return result, time.perf_counter() - started

    def _call_plain(self, messages: list[BaseMessage]) -> ModelReply:
        response, seconds = self._invoke(self.model, messages)
        text = response.text if isinstance(response.text, str) else str(response.content)
        return ModelReply(text=text, code=extract_code(text), usage=_usage(response, seconds),
                          finish_reason=_finish_reason(response))

    def _call_structured(self, messages: list[BaseMessage]) -> ModelReply:
        result, seconds = self._invoke(self._runnable, messages)
        raw: AIMessage = result["raw"]
        parsed: CodeAnswer | None = result.get("parsed")
        usage, finish = _usage(raw, seconds), _finish_reason(raw)
        if parsed is not None and parsed.code.strip():
            code = parsed.code
            if "```" in code:  # a fence inside the tool argument: unwrap it
                code = extract_code(code) or code
            text = json.dumps({"code": parsed.code, "rationale": parsed.rationale})
            text += "".join(f"\nWRONG TEST: {name}" for name in parsed.wrong_tests)
            return ModelReply(text=text, code=code.strip("\n"), usage=usage, finish_reason=finish,
                              rationale=parsed.rationale or None, structured=True)
        # Prose instead of a tool call (or unparsable arguments): read the text as any reply.
        text = raw.text if isinstance(raw.text, str) else str(raw.content)
        return ModelReply(text=text, code=extract_code(text), usage=usage, finish_reason=finish)
