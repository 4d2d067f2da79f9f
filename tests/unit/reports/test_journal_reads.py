"""What `ivr report` asks of the SQLite journal: a read in pages that loses, repeats and
reorders nothing where pages meet, and that leaves the daemon's WAL free to be checkpointed
while a long report is under way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ivr.store import sqlite as store
from ivr.store.port import Entry
from ivr.store.sqlite import SqliteJournal

T0 = 1_795_000_000.0


def test_notes_of_one_moment_across_pages_come_once_each_in_the_order_written(
    tmp_path: Path,
) -> None:
    journal = SqliteJournal(tmp_path / "ivr.sqlite3", batch=10_000)
    written = []
    # Runs of notes with one time (a busy second is stamped alike) longer than a page, and a
    # note stamped before the last one (a clock step): pages meet inside the runs.
    for n in range(store.PAGE * 2 + 500):
        at = T0 + (n * 3) // (store.PAGE + 7)
        if n == store.PAGE + 3:
            at = T0 - 0.5
        journal.append(f"c{n}", "ring", {"n": str(n)}, at)
        written.append(Entry(at, f"c{n}", "ring", {"n": str(n)}))

    read = list(journal.read(T0 - 1, T0 + 100))

    assert read == sorted(written, key=lambda e: e.at)  # stable: one moment's in order written
    assert [e.call_id for e in journal.read(T0, T0 + 3)] == [
        e.call_id for e in written if T0 <= e.at < T0 + 3
    ]
    journal.close()


def test_a_report_between_pages_lets_the_daemon_checkpoint_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "ivr.sqlite3"
    journal = SqliteJournal(path, batch=10_000)
    for n in range(store.PAGE * 3):
        journal.append(f"c{n}", "ring", {}, T0 + n)
    journal.flush()
    daemon = sqlite3.connect(path)

    reading = journal.read(T0, T0 + store.PAGE * 3)
    first = [next(reading) for _ in range(10)]  # a report under way, mid-page
    daemon.execute("INSERT INTO journal (at, call_id, kind, fields) VALUES (?, 'd', 'ring', '{}')",
                   (T0 + 0.5,))  # fmt: skip
    daemon.commit()
    busy, _, _ = daemon.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    rest = list(reading)

    assert busy == 0  # no reader held the old snapshot: the WAL was emptied
    assert len(first) + len(rest) == store.PAGE * 3
    daemon.close()
    journal.close()
