"""The journal in a local SQLite file (stdlib, no server): the embedded default."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ivr.store.history import (
    ARRIVED,
    SUMMARY_FIELDS,
    CallerHistory,
    EarlierCall,
    HistoryQuery,
)
from ivr.store.port import Entry

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_at ON journal (at);
"""
# Reads go in pages along journal_at ((at, id): an index holds the rowid after its columns),
# each page from where the last one stopped.
PAGE = 1000
FIRST_PAGE = (
    "SELECT id, at, call_id, kind, fields FROM journal"
    " WHERE at >= ? AND at < ? ORDER BY at, id LIMIT ?"
)
NEXT_PAGE = (
    "SELECT id, at, call_id, kind, fields FROM journal"
    " WHERE (at, id) > (?, ?) AND at < ? ORDER BY at, id LIMIT ?"
)
# The screen pop's history of a number (ivr/store/history.py): two partial indexes, small
# beside the journal (one entry per call, and three), built once on a journal that lacks
# them (`index_history`; a journal of 2.2 M notes took 3.7 s). A query uses a partial index
# only when its WHERE repeats the index's own, word for word: they share these texts.
_CALLER = "json_extract(fields, '$.caller_number')"
_ARRIVAL = f"kind = '{ARRIVED}'"
_SUMMARY = "kind IN (" + ", ".join(f"'{kind}'" for kind in SUMMARY_FIELDS) + ")"
HISTORY_INDEXES = f"""
CREATE INDEX IF NOT EXISTS journal_caller ON journal ({_CALLER}, at) WHERE {_ARRIVAL};
CREATE INDEX IF NOT EXISTS journal_call_summary ON journal (call_id) WHERE {_SUMMARY};
"""


def arrivals(spellings: int) -> str:
    """The newest arrivals from a number written `spellings` ways (its `?`s first)."""
    return (
        f"SELECT call_id, at FROM journal WHERE {_ARRIVAL} AND {_CALLER} IN ({_marks(spellings)})"
        " AND at >= ? AND call_id != ? ORDER BY at DESC LIMIT ?"
    )


def today(spellings: int) -> str:
    """How many arrivals from a number written `spellings` ways since a moment."""
    return (
        f"SELECT COUNT(*) FROM journal WHERE {_ARRIVAL} AND {_CALLER} IN ({_marks(spellings)})"
        " AND at >= ? AND call_id != ?"
    )


def _marks(count: int) -> str:
    return ",".join("?" * count)


SUMMARIES = f"SELECT call_id, kind, fields FROM journal WHERE {_SUMMARY} AND call_id IN "


class SqliteJournal:
    """Appends in batches: a commit (an fsync) per note would cost more than the call itself."""

    def __init__(self, path: Path, batch: int = 50, max_delay: float = 5.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        # WAL lets `ivr report` read the file while the daemon keeps writing it.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.batch = batch
        self.max_delay = max_delay
        self.pending = 0
        self.first_pending_at = 0.0
        self._indexed = False  # index_history has looked

    def append(self, call_id: str, kind: str, fields: dict[str, str], at: float) -> None:
        """Keep one note; committed per batch (N notes or `max_delay`), on flush() or close()."""
        self.db.execute(
            "INSERT INTO journal (at, call_id, kind, fields) VALUES (?, ?, ?, ?)",
            (at, call_id, kind, json.dumps(fields, ensure_ascii=False)),
        )
        if not self.pending:
            self.first_pending_at = at
        self.pending += 1
        # On a quiet line a batch fills slowly: commit anyway once it spans `max_delay` seconds.
        if self.pending >= self.batch or at - self.first_pending_at >= self.max_delay:
            self.flush()

    def flush(self) -> None:
        """Commit the pending appends."""
        self.db.commit()
        self.pending = 0

    def read(self, start: float, end: float) -> Iterator[Entry]:
        """Entries with `start <= at < end`, oldest first (pending appends included).

        Read a page at a time along the index on `at`, each page a statement of its own: a
        year's journal never sits in memory, and no read snapshot stays open between pages
        (it would keep the daemon's WAL from being checkpointed for the whole report)."""
        self.flush()
        stored = Entry.stored
        rows = self.db.execute(FIRST_PAGE, (start, end, PAGE)).fetchall()
        while rows:
            for _id, at, call_id, kind, fields in rows:
                yield stored(at, call_id, kind, fields)
            if len(rows) < PAGE:
                return
            last_id, last_at = rows[-1][0], rows[-1][1]
            rows = self.db.execute(NEXT_PAGE, (last_at, last_id, end, PAGE)).fetchall()

    def index_history(self) -> bool:
        """Build the indexes the screen pop's history reads, when the file lacks them (a
        journal of before them); True when it did."""
        if self._indexed:
            return False
        have = {
            name
            for (name,) in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal'"
            )
        }
        self._indexed = True
        if {"journal_caller", "journal_call_summary"} <= have:
            return False
        self.flush()
        self.db.executescript(HISTORY_INDEXES)
        return True

    def caller_history(self, query: HistoryQuery) -> CallerHistory:
        """The number's earlier calls and its count today (history.py), off two indexes."""
        numbers, current = query.numbers, query.current
        if not numbers or query.limit <= 0:
            return CallerHistory()
        self.index_history()
        self.flush()
        found = self.db.execute(arrivals(len(numbers)),
                                (*numbers, query.since, current, query.limit))  # fmt: skip
        calls = {call_id: EarlierCall(call_id, at) for call_id, at in found}
        asked = (*numbers, query.day_start, current)
        (count,) = self.db.execute(today(len(numbers)), asked).fetchone()
        if calls:
            marks = f"({_marks(len(calls))}) ORDER BY at, id"
            for call_id, kind, fields in self.db.execute(SUMMARIES + marks, tuple(calls)):
                calls[call_id].fold(kind, json.loads(fields))
        return CallerHistory(tuple(calls.values()), int(count))

    def prune(self, before: float) -> int:
        """Delete entries older than `before`; returns how many."""
        count = self.db.execute("DELETE FROM journal WHERE at < ?", (before,)).rowcount
        self.flush()
        return count

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self.db.close()

    # --- erasure and retention of callers' data (ivr/ops/) ---
    def erase(self, doomed: Callable[[Entry], bool]) -> int:
        """Delete every entry `doomed` says yes to; how many went. A full scan: for `ivr
        erase`, not for calls."""
        self.flush()
        ids = [
            row_id
            for row_id, at, call_id, kind, fields in self.db.execute(
                "SELECT id, at, call_id, kind, fields FROM journal"
            )
            if doomed(Entry(at, call_id, kind, json.loads(fields)))
        ]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM journal WHERE id IN ({marks})", chunk)
        self.flush()
        return len(ids)

    def rewrite(self, before: float, change: Callable[[Entry], dict[str, str] | None]) -> int:
        """Replace the fields of entries older than `before` where `change` gives new ones
        (None: keep the entry as it is); how many changed."""
        self.flush()
        rows = self.db.execute(
            "SELECT id, at, call_id, kind, fields FROM journal WHERE at < ?", (before,)
        ).fetchall()
        changed = 0
        for row_id, at, call_id, kind, fields in rows:
            new = change(Entry(at, call_id, kind, json.loads(fields)))
            if new is not None:
                self.db.execute(
                    "UPDATE journal SET fields = ? WHERE id = ?",
                    (json.dumps(new, ensure_ascii=False), row_id),
                )
                changed += 1
        self.flush()
        return changed


CALLBACKS = """
CREATE TABLE IF NOT EXISTS callbacks (
    id TEXT PRIMARY KEY,
    requested_at REAL NOT NULL,
    status TEXT NOT NULL,
    task TEXT NOT NULL
);
"""


class SqliteCallbacks:
    """Callback tasks in the same SQLite file; every save is committed at once (durable)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(CALLBACKS)

    def save(self, task: dict[str, Any]) -> None:
        """Insert or replace the task, committed before returning."""
        self.db.execute(
            "INSERT OR REPLACE INTO callbacks (id, requested_at, status, task) VALUES (?, ?, ?, ?)",
            (task["id"], task["requested_at"], task["status"], json.dumps(task)),
        )
        self.db.commit()

    def load(self, since: float) -> list[dict[str, Any]]:
        """Every pending task, and the others requested at or after `since`."""
        rows = self.db.execute(
            "SELECT task FROM callbacks WHERE status = 'pending' OR requested_at >= ?"
            " ORDER BY requested_at",
            (since,),
        )
        return [json.loads(task) for (task,) in rows]

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    # --- erasure and retention of callers' data (ivr/ops/) ---
    def delete(self, task_ids: Iterable[str]) -> int:
        """Delete these tasks, committed before returning; how many there were."""
        count = 0
        for task_id in task_ids:
            count += self.db.execute("DELETE FROM callbacks WHERE id = ?", (task_id,)).rowcount
        self.db.commit()
        return count


# WITHOUT ROWID: the records are kept in their key's own B-tree, so a write touches one tree,
# not a table and its key's index (a record is rewritten on most events of a call: the
# writer's commit of an event's writes costs 15 % less).
_LIVE_COLUMNS = """(
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID"""
LIVE = f"CREATE TABLE IF NOT EXISTS live {_LIVE_COLUMNS};"


def _live_has_rowid(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'live'")
    layout = found.fetchone()
    return layout is not None and "WITHOUT ROWID" not in str(layout[0]).upper()


def _live_without_rowid(db: sqlite3.Connection) -> None:
    """A store made before live records were WITHOUT ROWID gets its table rebuilt, records
    kept, in one transaction (a crash half-way leaves the old table as it was)."""
    if not _live_has_rowid(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if not _live_has_rowid(db):  # another daemon on the same file rebuilt it meanwhile
            db.commit()
            return
        db.execute("DROP TABLE IF EXISTS live_rebuilt")
        db.execute(f"CREATE TABLE live_rebuilt {_LIVE_COLUMNS}")
        db.execute("INSERT INTO live_rebuilt SELECT kind, key, record FROM live")
        db.execute("DROP TABLE live")
        db.execute("ALTER TABLE live_rebuilt RENAME TO live")
        db.commit()
    except BaseException:
        db.rollback()
        raise


class SqliteLive:
    """Live calls' and agents' records, each write committed at once. WAL with
    synchronous=NORMAL: a commit survives the daemon's crash (the case this is for) without an
    fsync per write; a power cut may lose the last moments.

    One write path (`sharing`): in the journal's own file and connection, each commit of a
    record also commits the notes the journal batched so far, so a crash loses no note
    written before the last change of a call or an agent, at no extra commit."""

    def __init__(self, path: Path, journal: SqliteJournal | None = None) -> None:
        """A file of its own at `path`, or the journal's file when `journal` is given."""
        if journal is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path)
            self.db.execute("PRAGMA journal_mode=WAL")
        else:
            self.db = journal.db
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(LIVE)
        _live_without_rowid(self.db)
        self._commit: Callable[[], None] = journal.flush if journal else self.db.commit
        self._owns_db = journal is None

    @classmethod
    def sharing(cls, journal: SqliteJournal) -> SqliteLive:
        """Records in the journal's file, committed with its batch."""
        return cls(journal.path, journal)

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        """Insert or replace, committed before returning."""
        self.db.execute(
            "INSERT OR REPLACE INTO live (kind, key, record) VALUES (?, ?, ?)",
            (kind, key, json.dumps(record, ensure_ascii=False)),
        )
        self._commit()

    def drop(self, kind: str, key: str) -> None:
        """Delete, committed before returning."""
        self.db.execute("DELETE FROM live WHERE kind = ? AND key = ?", (kind, key))
        self._commit()

    def load(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every record of `kind`, by key."""
        rows = self.db.execute("SELECT key, record FROM live WHERE kind = ?", (kind,))
        return {key: json.loads(record) for key, record in rows}

    def close(self) -> None:
        """Close the file (a shared one is the journal's to close)."""
        if self._owns_db:
            self.db.close()
