"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat completions API.

The LLM is the one thing that cannot exist here, so its replies are scripted per test;
everything between codeloop and the wire (langchain-openai, the openai client, httpx,
JSON, SSE streaming, tool calls, usage, status codes, Retry-After) is real.

Each request consumes the next scripted action:

- ``{"reply": TEXT}``: a normal answer (``usage`` and ``finish_reason`` optional); when the
  request offered tools and the action has ``"tool": {...}``, the answer is a tool call.
- ``{"status": 429, "headers": {...}}``: an HTTP error with an OpenAI-style error body.
- ``{"hang": SECONDS}``: wait before answering (past the client's timeout).
- ``{"malformed": True}``: a 200 whose body is not JSON.
- ``{"reset": True}``: close the connection without answering.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIStub:
    """The server's script and what it saw."""

    def __init__(self, actions: list[dict[str, Any]]) -> None:
        self.actions = list(actions)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.base_url = ""

    def next_action(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(body)
            if not self.actions:
                return {"status": 500, "message": "the stub has no scripted reply left"}
            return self.actions.pop(0)


def _completion(model: str, action: dict[str, Any], tools_offered: bool) -> dict[str, Any]:
    usage = action.get("usage", {"prompt_tokens": 11, "completion_tokens": 7})
    message: dict[str, Any] = {"role": "assistant", "content": action.get("reply", "")}
    finish = action.get("finish_reason", "stop")
    if tools_offered and "tool" in action:
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": action.get("tool_name", "CodeAnswer"), "arguments": json.dumps(action["tool"])},
        }]}
        finish = "tool_calls"
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]},
    }


def _chunks(model: str, action: dict[str, Any]) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    text = action.get("reply", "")
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    for i in range(0, len(text), 16):
        yield {**base, "choices": [{"index": 0, "delta": {"content": text[i : i + 16]}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": action.get("finish_reason", "stop")}]}
    usage = action.get("usage", {"prompt_tokens": 11, "completion_tokens": 7})
    yield {**base, "choices": [], "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}}


def _handler(stub: OpenAIStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            action = stub.next_action(body)
            if "hang" in action:
                time.sleep(action["hang"])
            if action.get("reset"):
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if "status" in action:
                error = {"error": {"message": action.get("message", f"scripted HTTP {action['status']}"),
                                   "type": "stub_error", "code": action.get("code")}}
                self._json(action["status"], error, action.get("headers"))
                return
            if action.get("malformed"):
                data = b'{"id": "chatcmpl-stub", "choices": [ this is not json'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            model = body.get("model", "stub-model")
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for chunk in _chunks(model, action):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True
                return
            self._json(200, _completion(model, action, bool(body.get("tools"))))

    return Handler


@contextmanager
def serve(actions: list[dict[str, Any]]) -> Iterator[OpenAIStub]:
    """Run the stub on a free loopback port for the ``with`` block; ``stub.base_url`` ends in /v1."""
    stub = OpenAIStub(actions)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, name="openai-stub", daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
