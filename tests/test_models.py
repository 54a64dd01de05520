"""The real langchain-openai client against a real local HTTP server speaking the OpenAI API.

Only the model's words are scripted (tests/openai_stub.py); the client, HTTP, JSON, SSE,
tool calls, status codes and LangGraph's RetryPolicy are all real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import RetryPolicy

from codeloop import ConfigError, ModelError, build_graph, make_model
from codeloop.nodes.model_call import is_transient
from codeloop.sandboxes import LocalSandbox

from .openai_stub import serve

TASK = "Write add(a, b) that returns the sum of two numbers."
TESTS = [{"call": "add(2, 3)", "expected": 5}]
BUG = "```python\ndef add(a, b):\n    return a - b\n```"
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
FAST_RETRY = RetryPolicy(initial_interval=0.01, backoff_factor=1.0, max_attempts=5, jitter=False, retry_on=is_transient)


def graph_for(base_url: str, sandbox: LocalSandbox, **options: Any) -> Any:
    model_options = {k: options.pop(k) for k in ("timeout_s", "streaming") if k in options}
    model = make_model("openai:stub-model", base_url=base_url, api_key="test-key", **model_options)
    options.setdefault("model_retry", FAST_RETRY)
    options.setdefault("structured_output", False)
    return build_graph(model=model, sandbox=sandbox, **options)


def test_a_bug_then_its_fix_with_usage_recorded(local_sandbox: LocalSandbox) -> None:
    actions = [{"reply": BUG, "usage": {"prompt_tokens": 100, "completion_tokens": 20}},
               {"reply": GOOD, "usage": {"prompt_tokens": 150, "completion_tokens": 25}}]
    with serve(actions) as stub:
        out = graph_for(stub.base_url, local_sandbox).invoke({"task": TASK, "tests": TESTS})
    assert out["status"] == "passed" and out["attempts"] == 2
    assert len(stub.requests) == 2
    assert out["usage"]["input_tokens"] == 250 and out["usage"]["output_tokens"] == 45 and out["usage"]["calls"] == 2
    assert out["usage"]["model_seconds"] > 0
    assert [h["usage"]["output_tokens"] for h in out["history"]] == [20, 25]
    assert stub.requests[0]["model"] == "stub-model"
    assert "add(2, 3) must return 5" in stub.requests[0]["messages"][-1]["content"]
    assert "expected 5, got -1" in stub.requests[1]["messages"][-1]["content"]  # the fix saw the feedback


def test_structured_output_through_tool_calls(local_sandbox: LocalSandbox) -> None:
    actions = [{"tool": {"code": "def add(a, b):\n    return a + b", "rationale": "Plain addition."}}]
    with serve(actions) as stub:
        out = graph_for(stub.base_url, local_sandbox, structured_output=True).invoke({"task": TASK, "tests": TESTS})
    assert out["status"] == "passed"
    assert stub.requests[0]["tools"][0]["function"]["name"] == "CodeAnswer"
    assert out["history"][0]["rationale"] == "Plain addition."


def test_structured_output_falls_back_when_the_endpoint_rejects_tools(local_sandbox: LocalSandbox) -> None:
    actions = [{"status": 400, "message": "tools are not supported by this server"}, {"reply": BUG}, {"reply": GOOD}]
    with serve(actions) as stub:
        out = graph_for(stub.base_url, local_sandbox, structured_output=True).invoke({"task": TASK, "tests": TESTS})
    assert out["status"] == "passed" and out["attempts"] == 2
    assert "tools" in stub.requests[0]
    assert "tools" not in stub.requests[1] and "tools" not in stub.requests[2]  # it remembered


def test_a_model_that_ignores_the_tool_and_writes_prose(local_sandbox: LocalSandbox) -> None:
    with serve([{"reply": "Sure! " + GOOD}]) as stub:
        out = graph_for(stub.base_url, local_sandbox, structured_output=True).invoke({"task": TASK, "tests": TESTS})
    assert out["status"] == "passed"


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"status": 503},
        {"malformed": True},
        {"reset": True},
        {"hang": 3},
    ],
    ids=["429-retry-after", "503", "malformed-json", "connection-reset", "read-timeout"],
)
def test_transient_failures_are_retried(local_sandbox: LocalSandbox, fault: dict[str, Any]) -> None:
    with serve([fault, {"reply": GOOD}]) as stub:
        out = graph_for(stub.base_url, local_sandbox, timeout_s=1.0).invoke({"task": TASK, "tests": TESTS})
    assert out["status"] == "passed" and out["attempts"] == 1
    assert len(stub.requests) == 2  # one failure, one retry


def test_retries_run_out_with_a_clear_model_error(local_sandbox: LocalSandbox) -> None:
    with serve([{"status": 500}] * 5) as stub, pytest.raises(ModelError) as caught:
        graph_for(stub.base_url, local_sandbox).invoke({"task": TASK, "tests": TESTS})
    assert len(stub.requests) == 5  # FAST_RETRY allows five attempts
    assert caught.value.status_code == 500
    assert stub.base_url in str(caught.value) and "HTTP 500" in str(caught.value)


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"status": 401, "message": "Incorrect API key provided"}, 401),
        ({"status": 404, "message": "The model `stub-model` does not exist", "code": "model_not_found"}, 404),
        ({"status": 400, "message": "maximum context length is 8192 tokens", "code": "context_length_exceeded"}, 400),
    ],
    ids=["401", "404-model", "context-too-long"],
)
def test_permanent_failures_fail_at_once(local_sandbox: LocalSandbox, fault: dict[str, Any], status: int) -> None:
    with serve([fault, {"reply": GOOD}]) as stub, pytest.raises(ModelError) as caught:
        graph_for(stub.base_url, local_sandbox).invoke({"task": TASK, "tests": TESTS})
    assert len(stub.requests) == 1
    assert caught.value.status_code == status and not caught.value.transient
    assert "not retried" in str(caught.value)


def test_malformed_replies_become_feedback(local_sandbox: LocalSandbox) -> None:
    actions = [
        {"reply": ""},
        {"reply": "I cannot help with that request."},
        {"reply": "```python\ndef add(a, b):\n    return (a +", "finish_reason": "length"},
        {"reply": GOOD},
    ]
    with serve(actions) as stub:
        out = graph_for(stub.base_url, local_sandbox, max_attempts=4).invoke({"task": TASK, "tests": TESTS})
    assert out["status"] == "passed" and out["attempts"] == 4
    feedback = [h["feedback"] for h in out["history"]]
    assert "no Python code" in feedback[0] and "no Python code" in feedback[1]
    assert "cut off" in feedback[2]
    assert "cut off" in stub.requests[3]["messages"][-1]["content"]


def test_streaming_responses_and_their_usage(local_sandbox: LocalSandbox) -> None:
    with serve([{"reply": GOOD, "usage": {"prompt_tokens": 40, "completion_tokens": 9}}]) as stub:
        out = graph_for(stub.base_url, local_sandbox, streaming=True).invoke({"task": TASK, "tests": TESTS})
    assert stub.requests[0]["stream"] is True
    assert out["status"] == "passed"
    assert out["usage"]["input_tokens"] == 40 and out["usage"]["output_tokens"] == 9


def test_a_run_that_ran_out_of_retries_resumes_from_its_checkpoint(local_sandbox: LocalSandbox) -> None:
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "outage"}}
    with serve([{"reply": BUG}, *[{"status": 502}] * 5]) as stub:
        graph = graph_for(stub.base_url, local_sandbox, checkpointer=saver)
        with pytest.raises(ModelError):
            graph.invoke({"task": TASK, "tests": TESTS}, config)
        kept = graph.get_state(config).values
        assert kept["attempts"] == 1 and kept["code"].endswith("a - b")  # attempt 1 survived the outage
        stub.actions.append({"reply": GOOD})  # the endpoint is back
        out = graph.invoke(None, config)
    assert out["status"] == "passed" and out["attempts"] == 2
    assert [h["source"] for h in out["history"]] == ["generate", "fix"]
    assert len(stub.requests) == 7  # nothing before the failed node was asked again


def test_make_model_specs() -> None:
    model = make_model("openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="k", temperature=0.0,
                       max_tokens=256, timeout_s=5)
    assert model.model_name == "gpt-4o-mini"  # type: ignore[attr-defined]
    assert model.max_retries == 0  # type: ignore[attr-defined]
    assert make_model("gpt-4o", env={"OPENAI_BASE_URL": "http://x/v1"}).openai_api_base == "http://x/v1"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unknown model provider"):
        make_model("anthropic:claude", env={})
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        make_model(None, env={})


def test_cli_solve_through_openai_base_url() -> None:
    root = Path(__file__).resolve().parent.parent
    with serve([{"reply": BUG}, {"reply": GOOD}]) as stub:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env.update(OPENAI_BASE_URL=stub.base_url, CODELOOP_MODEL="stub-model")
        proc = subprocess.run([sys.executable, "-m", "codeloop", "solve", TASK, "--test", "add(2, 3) == 5", "--json"],
                              capture_output=True, text=True, env=env, cwd=root, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert '"status": "passed"' in proc.stdout
    assert len(stub.requests) == 2 and stub.requests[0]["model"] == "stub-model"
