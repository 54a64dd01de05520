"""Durable runs: checkpoints in a local SQLite file, so a killed run resumes where it stopped."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codeloop.errors import ConfigError, MissingDependencyError

DEFAULT_DB = Path(".codeloop") / "checkpoints.sqlite"


@contextmanager
def sqlite_checkpointer(path: str | Path = DEFAULT_DB, *, busy_timeout_s: float = 30.0) -> Iterator[Any]:
    """A LangGraph SqliteSaver on ``path`` (created with its folder), closed afterwards.

    A file locked by another process is waited for up to ``busy_timeout_s``, then a
    clear error, never a hang.
    """
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver
    except ImportError as exc:
        raise MissingDependencyError("langgraph-checkpoint-sqlite", "durable") from exc
    db = Path(path)
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, check_same_thread=False, timeout=busy_timeout_s)
    try:
        saver = SqliteSaver(conn)
        try:
            saver.setup()
        except sqlite3.OperationalError as exc:
            raise ConfigError(f"the checkpoint file {db} is unusable ({exc}); is another process holding it?") from exc
        yield saver
    finally:
        conn.close()


def thread_values(saver: Any, thread_id: str) -> dict[str, Any] | None:
    """The latest saved state of a thread, or None when there is no such thread."""
    found = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    if found is None:
        return None
    return dict(found.checkpoint.get("channel_values", {}))
