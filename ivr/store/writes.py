"""What the daemon writes to its store, as values a writer thread can hold, coalesce and apply
later in order; and the backend that applies them (`sqlite_writes.py`, `redis_writes.py`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ivr.store.history import CallerHistory, HistoryQuery
from ivr.store.port import Entry

StoreName = Literal["journal", "live", "callbacks"]
STORES: tuple[StoreName, ...] = ("journal", "live", "callbacks")


@dataclass(frozen=True, slots=True)
class NoteWrite:
    """One journal note, its fields as JSON."""

    call_id: str
    kind: str
    fields: str
    at: float
    keep_seconds: float  # Redis trims the stream past this on every append


@dataclass(frozen=True, slots=True)
class PruneWrite:
    """Forget journal entries older than `before`."""

    before: float


@dataclass(frozen=True, slots=True)
class RecordWrite:
    """A live call's or agent's record as JSON (None: forget it). With a fence (the lease's
    counter key and this daemon's token when the write was made), Redis refuses it once
    another daemon holds a newer token."""

    kind: str
    key: str
    record: str | None
    fence: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class TaskWrite:
    """A callback task as JSON (None: forget it), with the columns SQLite indexes."""

    task_id: str
    task: str | None
    requested_at: float = 0.0
    status: str = ""


Write = NoteWrite | PruneWrite | RecordWrite | TaskWrite


def store_of(write: Write) -> StoreName:
    """The store a write belongs to, for metrics and logs."""
    match write:
        case NoteWrite() | PruneWrite():
            return "journal"
        case RecordWrite():
            return "live"
        case TaskWrite():
            return "callbacks"


@dataclass(frozen=True, slots=True)
class Pending:
    """A write, its place in the order writes were made (`seq` only grows), and when it was
    made (the writer's monotonic clock)."""

    seq: int
    write: Write
    made: float = 0.0


class Backend(Protocol):
    """Store connections, owned by the writer's thread (SQLite's are per thread)."""

    def group(self, write: Write) -> str:
        """Writes of one group can land together in one step (one connection)."""
        ...

    def apply(self, writes: Sequence[Pending]) -> list[Pending]:
        """Land `writes` (one group, in order) all together or not at all, raising when they
        did not; returns those refused for good (a lost lease's fenced records)."""
        ...

    def load_records(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every live record of `kind`, by key."""
        ...

    def load_tasks(self, since: float) -> list[dict[str, Any]]:
        """Every pending callback task, and the others requested at or after `since`."""
        ...

    def read_journal(self, start: float, end: float) -> Iterator[Entry]:
        """Journal entries with `start <= at < end`, oldest first (read them in the thread)."""
        ...

    def caller_history(self, query: HistoryQuery) -> CallerHistory:
        """A number's earlier calls, from the journal (ivr/store/history.py)."""
        ...

    def index_history(self) -> bool:
        """Make what `caller_history` reads, where the store lacks it; True when it did."""
        ...

    def close(self) -> None:
        """Let go of files and connections."""
        ...
