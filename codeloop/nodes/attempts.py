"""Closing an attempt: its history record, and whether it is the best version so far."""

from __future__ import annotations

from typing import Any

from codeloop.state import LoopState

_STAGE_RANK = {"generate": 0, "validate": 1, "approve": 1, "execute": 2, "test": 3}


def is_passing(state: LoopState) -> bool:
    """True when the current version passed: every test, or (with none) a clean run."""
    stage = state.get("stage")
    if not state.get("ok"):
        return False
    return stage == "test" or (stage == "execute" and not state.get("tests"))


def score(state: LoopState) -> tuple[int, int, int, int]:
    """Rank a version: passing, given tests passed, generated tests passed, stage reached."""
    results = (state.get("test_results") or []) if state.get("stage") == "test" else []
    given = sum(1 for r in results if r["passed"] and r["provenance"] == "given")
    generated = sum(1 for r in results if r["passed"] and r["provenance"] == "generated")
    return (int(is_passing(state)), given, generated, _STAGE_RANK.get(state.get("stage", "generate"), 0))


def close_attempt(state: LoopState) -> dict[str, Any]:
    """The state update that records the attempt just finished (history + best)."""
    if not state.get("attempts"):
        return {}
    stage = state.get("stage", "generate")
    results = (state.get("test_results") or []) if stage == "test" else []
    passed = is_passing(state)
    last_call = state.get("last_call") or {}
    record: dict[str, Any] = {
        "attempt": state["attempts"],
        "source": last_call.get("node", "generate"),
        "code": state.get("code", ""),
        "stage": stage,
        "passed": passed,
        "feedback": None if passed else state.get("feedback"),
        "error": None if passed else state.get("error"),
        "tests_passed": [r["name"] for r in results if r["passed"]],
        "tests_failed": [r["name"] for r in results if not r["passed"]],
        "usage": last_call.get("usage"),
        "finish_reason": last_call.get("finish_reason"),
        "rationale": last_call.get("rationale"),
        "dropped_tests": last_call.get("dropped_tests", []),
        "regressions": list(state.get("regressions") or []) if stage == "test" else [],
    }
    update: dict[str, Any] = {"history": [record]}
    current = score(state)
    best = state.get("best")
    if state.get("code") and (best is None or tuple(best["score"]) <= current):
        update["best"] = {
            "attempt": state["attempts"],
            "score": list(current),
            "code": state.get("code", ""),
            "test_results": results,
            "output": state.get("output", "") if stage in ("execute", "test") else "",
        }
    return update
