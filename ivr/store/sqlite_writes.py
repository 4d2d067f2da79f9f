"""The SQLite backend of the store's writer: the journal's file (notes and live records, one
connection, one commit per batch) and the callbacks' file beside it. A batch is one
transaction: it lands whole or, rolled back, not at all. Every statement waits at most
`timeout` seconds for another connection's lock (`ivr report`, `ivr erase`).

The journal's file commits without syncing to disk (WAL with `synchronous = NORMAL`): a
commit survives the daemon's death, as the writes still waiting in memory do not, and only
a crash of the machine itself may take back the last commits (the file stays sound). A
sync per commit cost the writer more than the notes it carried."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ivr.store.history import CallerHistory, HistoryQuery
from ivr.store.port import Entry
from ivr.store.sqlite import SqliteCallbacks, SqliteJournal, SqliteLive
from ivr.store.writes import NoteWrite, Pending, PruneWrite, RecordWrite, TaskWrite, Write


class SqliteBackend:
    """Connections made in the writer's thread, which alone uses them."""

    def __init__(self, journal: Path, callbacks: Path, timeout: float) -> None:
        busy = f"PRAGMA busy_timeout = {int(timeout * 1000)}"
        self.journal = SqliteJournal(journal)
        self.journal.db.execute(busy)
        self.journal.db.execute("PRAGMA synchronous = NORMAL")
        self.live = SqliteLive.sharing(self.journal)
        self.callbacks = SqliteCallbacks(callbacks)
        self.callbacks.db.execute(busy)

    def group(self, write: Write) -> str:
        """Callback tasks are in a file of their own; the rest is in the journal's."""
        return "callbacks" if isinstance(write, TaskWrite) else "journal"

    def apply(self, writes: Sequence[Pending]) -> list[Pending]:
        """One transaction for the batch; rolled back when any statement or the commit fails."""
        tasks = isinstance(writes[0].write, TaskWrite)
        db = self.callbacks.db if tasks else self.journal.db
        try:
            # Runs of one statement (a batch's notes, its records) go in one executemany.
            run: list[tuple[Any, ...]] = []
            last = ""
            for pending in writes:
                statement, values = sql(pending.write)
                if statement != last:
                    if run:
                        db.executemany(last, run)
                    run, last = [], statement
                run.append(values)
            db.executemany(last, run)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return []

    def load_records(self, kind: str) -> dict[str, dict[str, Any]]:
        """The live records of `kind`."""
        return self.live.load(kind)

    def load_tasks(self, since: float) -> list[dict[str, Any]]:
        """Pending callback tasks and the recent others."""
        return self.callbacks.load(since)

    def read_journal(self, start: float, end: float) -> Iterator[Entry]:
        """Journal entries with `start <= at < end`, oldest first, a page at a time."""
        return self.journal.read(start, end)

    def caller_history(self, query: HistoryQuery) -> CallerHistory:
        """Earlier calls from a number, off the journal's history indexes."""
        return self.journal.caller_history(query)

    def index_history(self) -> bool:
        """Build the history's indexes on a journal of before them; True when it did."""
        return self.journal.index_history()

    def close(self) -> None:
        """Close both files."""
        self.callbacks.close()
        self.live.close()
        self.journal.close()


def sql(write: Write) -> tuple[str, tuple[Any, ...]]:
    """The statement that carries out `write`, and its values."""
    match write:
        case NoteWrite():
            return ("INSERT INTO journal (at, call_id, kind, fields) VALUES (?, ?, ?, ?)",
                    (write.at, write.call_id, write.kind, write.fields))  # fmt: skip
        case PruneWrite():
            return "DELETE FROM journal WHERE at < ?", (write.before,)
        case RecordWrite(record=None):
            return "DELETE FROM live WHERE kind = ? AND key = ?", (write.kind, write.key)
        case RecordWrite():
            return ("INSERT OR REPLACE INTO live (kind, key, record) VALUES (?, ?, ?)",
                    (write.kind, write.key, write.record))  # fmt: skip
        case TaskWrite(task=None):
            return "DELETE FROM callbacks WHERE id = ?", (write.task_id,)
        case TaskWrite():
            return ("INSERT OR REPLACE INTO callbacks (id, requested_at, status, task)"
                    " VALUES (?, ?, ?, ?)",
                    (write.task_id, write.requested_at, write.status, write.task))  # fmt: skip
