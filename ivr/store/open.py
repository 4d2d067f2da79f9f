"""The journal sink that keeps every note in the store, and the store factory."""

from __future__ import annotations

from ivr.calls.commands import Note
from ivr.config import Settings
from ivr.store.port import CallbackStore, JournalStore

PRUNE_EVERY = 3600.0


class JournalSink:
    """Appends every note; prunes entries older than `keep_days` once an hour of notes."""

    def __init__(self, journal: JournalStore, keep_days: float = 90) -> None:
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


def open_journal(settings: Settings) -> JournalStore:
    """Redis when `store.redis_url` is set, else the SQLite file `store.sqlite`."""
    store = settings.store
    if store.redis_url:
        from ivr.store.redis import RedisJournal

        return RedisJournal.from_url(store.redis_url, store.journal_days)
    from ivr.store.sqlite import SqliteJournal

    return SqliteJournal(store.sqlite)


def open_callbacks(settings: Settings) -> CallbackStore:
    """Callback tasks where the journal is: Redis when `store.redis_url` is set, else SQLite."""
    store = settings.store
    if store.redis_url:
        from ivr.store.redis import RedisCallbacks

        return RedisCallbacks.from_url(store.redis_url)
    from ivr.store.sqlite import SqliteCallbacks

    # A file of its own: the journal holds a write transaction open between its batches.
    return SqliteCallbacks(store.sqlite.with_suffix(".callbacks" + store.sqlite.suffix))
