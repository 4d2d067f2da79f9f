"""The journal sink that keeps every note in the store, for `ivr report` and `ivr forecast`."""

from __future__ import annotations

from ivr.calls.commands import Note
from ivr.store.port import JournalStore

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
