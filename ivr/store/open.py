"""The stores the settings ask for: SQLite files by default, Redis with `store.redis_url`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from ivr.calls.ports import CallbackStore, LiveStore
from ivr.config import Settings, StoreSettings
from ivr.store.buffered import BufferedCallbacks, BufferedJournal, BufferedLive
from ivr.store.port import JournalStore
from ivr.store.writer import StoreWatch, StoreWriter
from ivr.store.writes import Backend


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
    return SqliteCallbacks(callbacks_file(store))


def callbacks_file(store: StoreSettings) -> Path:
    """The SQLite file of callback tasks, beside the journal's."""
    return store.sqlite.with_suffix(".callbacks" + store.sqlite.suffix)


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


@dataclass(frozen=True)
class Stores:
    """The daemon's stores, writing through one writer (ivr/store/writer.py)."""

    writer: StoreWriter
    journal: BufferedJournal
    live: BufferedLive
    callbacks: BufferedCallbacks


def open_stores(settings: Settings, watch: StoreWatch | None = None) -> Stores:
    """The journal, live state and callbacks where the settings say, behind a writer thread
    that owns the connections; raises what opening the store raised (or TimeoutError)."""
    store = settings.store
    timeout = store.timeout_seconds

    def backend() -> Backend:
        if store.redis_url:
            from ivr.store.redis_writes import RedisBackend

            return RedisBackend(store.redis_url, timeout, uuid.uuid4().hex)
        from ivr.store.sqlite_writes import SqliteBackend

        return SqliteBackend(store.sqlite, callbacks_file(store), timeout)

    writer = StoreWriter(backend, max_notes=store.buffer_notes, slow_seconds=timeout,
                         watch=watch)  # fmt: skip
    # A read waits behind at most one write under way, then takes its own timeout.
    load_timeout = 3 * timeout
    writer.start(timeout=max(10.0, load_timeout))
    journal = BufferedJournal(writer, store.journal_days)
    return Stores(writer, journal, BufferedLive(writer, load_timeout),
                  BufferedCallbacks(writer, load_timeout))  # fmt: skip
