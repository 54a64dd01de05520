"""The approve node: a human sees the code before it runs (LangGraph ``interrupt``)."""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from codeloop.state import LoopState

RESUME_HELP = (
    'resume with {"approved": true}, {"approved": false, "reason": "..."} '
    'or {"approved": true, "code": "<edited code>"}'
)


def approve(state: LoopState) -> dict[str, Any]:
    """Graph node: pause with the code and its validation verdict until a human answers.

    Its own node, so resuming re-runs only this step: nothing before it (model calls,
    validation) happens twice. A rejection's reason goes to the fix node as feedback.
    An answer of the wrong shape is not an error that loses the run: the node asks
    again, saying what was wrong.
    """
    request: dict[str, Any] = {
        "question": "Run this code?",
        "attempt": state.get("attempts", 0),
        "code": state.get("code", ""),
        "validation": state.get("validation", {}),
        "how_to_answer": RESUME_HELP,
    }
    while True:
        answer = interrupt(request)
        problem = _check_answer(answer)
        if problem is None:
            break
        request = {**request, "error": problem}
    if isinstance(answer, bool):
        answer = {"approved": answer}
    if not answer["approved"]:
        reason = str(answer.get("reason") or "rejected by the reviewer, without a reason")
        return {"stage": "approve", "ok": False,
                "feedback": f"A human reviewer rejected this code before it ran: {reason}",
                "error": {"type": "Rejected", "message": reason, "line": None}}
    update: dict[str, Any] = {"stage": "approve", "ok": True}
    if answer.get("code") is not None:
        update["code"] = answer["code"]
    return update


def _check_answer(answer: object) -> str | None:
    """None for a usable answer, else what is wrong with it."""
    if isinstance(answer, bool):
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("approved"), bool):
        return f"unexpected answer {answer!r:.200}: {RESUME_HELP}"
    edited = answer.get("code")
    if edited is not None and (not isinstance(edited, str) or not edited.strip()):
        return f"the edited code must be non-empty text: {RESUME_HELP}"
    return None
