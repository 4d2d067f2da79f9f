"""SqliteJournal specifics: batched commits, WAL, and the file surviving a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ivr.store.port import Entry
from ivr.store.sqlite import SqliteJournal


def _committed(path: Path) -> int:
    """Rows another process (say `ivr report`) would see now."""
    with sqlite3.connect(path) as other:
        count: int = other.execute("SELECT count(*) FROM journal").fetchone()[0]
    other.close()
    return count


def test_appends_are_committed_in_batches_and_on_flush(tmp_path: Path) -> None:
    path = tmp_path / "ivr.sqlite3"
    journal = SqliteJournal(path, batch=3)
    journal.append("c1", "arrived", {}, 1.0)
    journal.append("c1", "tag", {"tag": "orders"}, 2.0)
    assert _committed(path) == 0

    journal.append("c1", "ended", {}, 3.0)
    assert _committed(path) == 3

    journal.append("c2", "arrived", {}, 4.0)
    journal.flush()
    assert _committed(path) == 4
    journal.close()


def test_a_slow_batch_is_committed_once_it_spans_max_delay(tmp_path: Path) -> None:
    path = tmp_path / "ivr.sqlite3"
    journal = SqliteJournal(path, batch=50, max_delay=5.0)
    journal.append("c1", "arrived", {}, 100.0)
    journal.append("c1", "tag", {}, 104.0)
    assert _committed(path) == 0

    journal.append("c1", "ended", {}, 105.0)
    assert _committed(path) == 3
    journal.close()


def test_close_flushes_and_the_file_reopens_with_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "var" / "ivr.sqlite3"  # the folder is made on open
    journal = SqliteJournal(path)
    journal.append("c1", "arrived", {"plan": "shop"}, 10.0)
    journal.close()

    again = SqliteJournal(path)
    assert list(again.read(0, 100)) == [Entry(10.0, "c1", "arrived", {"plan": "shop"})]
    again.close()


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "ivr.sqlite3"
    SqliteJournal(path).close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
