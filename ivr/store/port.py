"""The journal store port: an append-only log of call notes, read back by time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol


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

    # --- erasure and retention of callers' data (ivr/ops/) ---
    def erase(self, doomed: Callable[[Entry], bool]) -> int:
        """Delete every entry `doomed` says yes to; how many went (a full scan)."""
        ...

    def rewrite(self, before: float, change: Callable[[Entry], dict[str, str] | None]) -> int:
        """Replace the fields of entries older than `before` where `change` gives new ones."""
        ...
