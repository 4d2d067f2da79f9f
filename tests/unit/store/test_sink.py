"""JournalSink, open_journal and the config's store section."""

from __future__ import annotations

from pathlib import Path

from ivr.calls.commands import Note
from ivr.config import load_settings
from ivr.journal.store_sink import JournalSink
from ivr.store.open import open_journal
from ivr.store.port import Entry
from ivr.store.redis import RedisJournal
from ivr.store.sqlite import SqliteJournal

DAY = 86400.0


def test_the_sink_appends_every_note_and_prunes_past_the_retention(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "ivr.sqlite3")
    sink = JournalSink(journal, keep_days=90)
    sink.record(Note("c1", "arrived", {"plan": "shop"}), 1000.0)
    sink.record(Note("c1", "ended", {"outcome": "answered"}), 1000.0 + 91 * DAY)

    # The second note is an hour past the last prune, so the 91-day-old one goes.
    assert list(journal.read(0, 200 * DAY)) == [
        Entry(1000.0 + 91 * DAY, "c1", "ended", {"outcome": "answered"})
    ]
    sink.close()


def test_store_settings_default_to_a_sqlite_file_beside_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config" / "ivr.yaml"
    config.parent.mkdir()
    config.write_text("log: {level: info}\n")

    settings = load_settings(config, environ={})

    assert settings.store.sqlite == (tmp_path / "var" / "ivr.sqlite3").resolve()
    assert settings.store.redis_url is None
    assert settings.store.journal_days == 90
    journal = open_journal(settings)
    assert isinstance(journal, SqliteJournal)
    journal.close()


def test_open_journal_chooses_redis_when_a_url_is_set(tmp_path: Path, redis_url: str) -> None:
    config = tmp_path / "ivr.yaml"
    config.write_text(f"store: {{redis_url: '{redis_url}', journal_days: 30}}\n")

    journal = open_journal(load_settings(config, environ={}))

    assert isinstance(journal, RedisJournal)
    assert journal.keep_seconds == 30 * DAY
    journal.close()
