"""The journal store port: an append-only log of call notes, read back by time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored note: when, which call (`""` for desk notes), what kind, and its fields."""

    at: float
    call_id: str
    kind: str
    fields: dict[str, str] = field(default_factory=dict)


class JournalStore(Protocol):
    """Where notes are kept for reports; adapters: SqliteJournal, RedisJournal."""

    def append(self, call_id: str, kind: str, fields: dict[str, str], at: float) -> None:
        """Keep one note; cheap enough to call on every note of every call."""
        ...

    def read(self, start: float, end: float) -> Iterator[Entry]:
        """Entries with `start <= at < end`, oldest first."""
        ...

    def prune(self, before: float) -> int:
        """Forget entries older than `before`; returns how many went (approximate on Redis)."""
        ...

    def close(self) -> None:
        """Flush what is pending and let go of the file or connection."""
        ...


class CallbackStore(Protocol):
    """Where callback tasks are kept (JSON objects by `id`), so a restart loses none."""

    def save(self, task: dict[str, Any]) -> None:
        """Keep the task as it is now, replacing its earlier state; durable on return."""
        ...

    def load(self, since: float) -> list[dict[str, Any]]:
        """Every pending task, and the others requested at or after `since`."""
        ...

    def close(self) -> None:
        """Let go of the file or connection."""
        ...
