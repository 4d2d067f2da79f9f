"""The stores the settings ask for: SQLite files by default, Redis with `store.redis_url`."""

from __future__ import annotations

from ivr.calls.ports import CallbackStore, LiveStore
from ivr.config import Settings
from ivr.store.port import JournalStore


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


def open_live(settings: Settings, journal: JournalStore) -> LiveStore:
    """Live calls and agents where the journal is: Redis with `store.redis_url`, else in the
    journal's SQLite file, sharing its commits (one write path)."""
    store = settings.store
    if store.redis_url:
        from ivr.store.redis import RedisLive

        return RedisLive.from_url(store.redis_url)
    from ivr.store.sqlite import SqliteJournal, SqliteLive

    if isinstance(journal, SqliteJournal):
        return SqliteLive.sharing(journal)
    return SqliteLive(store.sqlite.with_suffix(".live" + store.sqlite.suffix))
