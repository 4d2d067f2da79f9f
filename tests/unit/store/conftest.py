"""Store fixtures: a SQLite file in tmp_path; the real redis-server is tests/unit/conftest.py's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.store.port import JournalStore
from ivr.store.redis import RedisJournal
from ivr.store.sqlite import SqliteJournal


@pytest.fixture
def redis_journal(redis_url: str) -> Iterator[RedisJournal]:
    """A RedisJournal on an empty database."""
    journal = RedisJournal.from_url(redis_url)
    journal.client.flushdb()
    yield journal
    journal.close()


@pytest.fixture
def sqlite_journal(tmp_path: Path) -> Iterator[SqliteJournal]:
    """A SqliteJournal in a fresh file."""
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3", batch=3)
    yield journal
    journal.close()


@pytest.fixture(params=["sqlite", "redis"])
def journal(request: pytest.FixtureRequest) -> JournalStore:
    """Each adapter in turn, for the contract tests."""
    store: JournalStore = request.getfixturevalue(f"{request.param}_journal")
    return store
