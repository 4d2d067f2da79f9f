"""The stores as the daemon's core sees them (the ports), writing through the store's writer:
every write returns at once and lands in the order made; reads at start wait, with a timeout."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ivr.store.writer import StoreWriter
from ivr.store.writes import NoteWrite, PruneWrite, RecordWrite, TaskWrite

# json.dumps(..., ensure_ascii=False) builds an encoder on each call; one made once writes
# the same text.
_encode = json.JSONEncoder(ensure_ascii=False).encode


class BufferedJournal:
    """Notes for the journal (JournalSink's store): appended and pruned through the writer."""

    def __init__(self, writer: StoreWriter, keep_days: float = 90) -> None:
        self.writer = writer
        self.keep_seconds = keep_days * 86400

    def append(self, call_id: str, kind: str, fields: dict[str, str], at: float) -> None:
        """Queue the note; it lands after every write made before it."""
        body = _encode(fields)
        self.writer.write(None, NoteWrite(call_id, kind, body, at, self.keep_seconds))

    def prune(self, before: float) -> int:
        """Queue the pruning; returns 0 (how many went is known only once it lands)."""
        self.writer.write(("prune",), PruneWrite(before))
        return 0

    def close(self) -> None:
        """Nothing of its own: the writer's owner closes the writer."""


class BufferedLive:
    """Live calls' and agents' records (the LiveStore port) through the writer. With a fence
    (the lease's counter key and a function giving this daemon's token), each write carries
    the token it was made under, and Redis refuses it once another daemon has a newer one."""

    def __init__(self, writer: StoreWriter, load_timeout: float) -> None:
        self.writer = writer
        self.load_timeout = load_timeout
        self.fence: tuple[str, Callable[[], int | None]] | None = None

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        """Queue the record (as it is now), replacing one of the same key still waiting."""
        value = _encode(record)
        self.writer.write(("live", kind, key), RecordWrite(kind, key, value, self._fence()))

    def drop(self, kind: str, key: str) -> None:
        """Queue forgetting the record, replacing a write of the same key still waiting."""
        self.writer.write(("live", kind, key), RecordWrite(kind, key, None, self._fence()))

    def load(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every record of `kind` as the store has it (at start, at a takeover)."""
        return self.writer.call(lambda backend: backend.load_records(kind), self.load_timeout)

    def close(self) -> None:
        """Nothing of its own: the writer's owner closes the writer."""

    def _fence(self) -> tuple[str, str] | None:
        if self.fence is None:
            return None
        counter, token = self.fence
        return counter, str(token())


class BufferedCallbacks:
    """Callback tasks (the CallbackStore port) through the writer."""

    def __init__(self, writer: StoreWriter, load_timeout: float) -> None:
        self.writer = writer
        self.load_timeout = load_timeout

    def save(self, task: dict[str, Any]) -> None:
        """Queue the task as it is now, replacing a save of the same task still waiting."""
        task_id = str(task["id"])
        write = TaskWrite(task_id, json.dumps(task), float(task["requested_at"]),
                          str(task["status"]))  # fmt: skip
        self.writer.write(("task", task_id), write)

    def load(self, since: float) -> list[dict[str, Any]]:
        """Every pending task, and the others requested at or after `since`."""
        return self.writer.call(lambda backend: backend.load_tasks(since), self.load_timeout)

    def delete(self, task_ids: Iterable[str]) -> int:
        """Queue forgetting these tasks (after any save of them still waiting); returns how
        many were asked, not how many the store had."""
        count = 0
        for task_id in task_ids:
            self.writer.write(("task", task_id), TaskWrite(task_id, None))
            count += 1
        return count

    def close(self) -> None:
        """Nothing of its own: the writer's owner closes the writer."""
