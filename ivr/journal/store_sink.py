"""The journal sink that keeps every note in the store, for `ivr report` and `ivr forecast`;
and the store writer's figures as Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ivr.calls.commands import Note
from ivr.journal.metrics import Metrics
from ivr.store.writes import STORES, StoreName

PRUNE_EVERY = 3600.0


class NoteStore(Protocol):
    """What the sink needs of a journal store (SqliteJournal, RedisJournal, BufferedJournal)."""

    def append(self, call_id: str, kind: str, fields: dict[str, str], at: float) -> None: ...

    def prune(self, before: float) -> int: ...

    def close(self) -> None: ...


class JournalSink:
    """Appends every note; prunes entries older than `keep_days` once an hour of notes."""

    def __init__(self, journal: NoteStore, keep_days: float = 90) -> None:
        self.journal = journal
        self.keep_seconds = keep_days * 86400
        self.pruned_at: float | None = None

    def record(self, note: Note, at: float) -> None:
        self.journal.append(note.call_id, note.kind, dict(note.fields), at)
        if self.pruned_at is None or at - self.pruned_at >= PRUNE_EVERY:
            # Prune on the note's clock, not the wall's: the core never reads the wall clock.
            self.pruned_at = at
            self.journal.prune(at - self.keep_seconds)

    def close(self) -> None:
        """Flush and close the store."""
        self.journal.close()


class StoreMetrics:
    """The store writer's StoreWatch: ivr_store_pending, _dropped_total, _write_failures_total
    and ivr_store_up. Called from the writer's thread too (prometheus_client locks)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        for store in STORES:
            metrics.store_pending.labels(store=store).set(0)
            metrics.store_dropped.labels(store=store)
            metrics.store_failures.labels(store=store)
        metrics.store_up.set(1)

    def counting(self, pending: Callable[[], dict[StoreName, int]]) -> None:
        """ivr_store_pending asks the writer when scraped: a gauge set on every write would
        cost each note a label lookup and a lock, for a value read once in 15 s."""

        def count(store: StoreName) -> Callable[[], float]:
            return lambda: pending()[store]

        for store in STORES:
            self.metrics.store_pending.labels(store=store).set_function(count(store))

    def dropped(self, store: StoreName, count: int) -> None:
        self.metrics.store_dropped.labels(store=store).inc(count)

    def failed(self, store: StoreName) -> None:
        self.metrics.store_failures.labels(store=store).inc()

    def up(self, up: bool) -> None:
        self.metrics.store_up.set(1 if up else 0)
