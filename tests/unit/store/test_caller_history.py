"""A caller's earlier calls from the journal (the screen pop's `previous`), in both stores:
written as the daemon writes (through the store's writer) or appended directly, masked by
retention and erased by `ivr erase`."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from ivr.callbacks.numbers import spellings
from ivr.ops.erase import erase_number
from ivr.ops.retention import forget_numbers
from ivr.store.buffered import BufferedJournal
from ivr.store.history import CallerHistory, HistoryQuery
from ivr.store.redis import RedisCallbacks, RedisJournal
from ivr.store.redis_writes import RedisBackend
from ivr.store.sqlite import SUMMARIES, SqliteCallbacks, SqliteJournal, arrivals
from ivr.store.sqlite_writes import SqliteBackend
from ivr.store.writer import StoreWriter
from ivr.store.writes import Backend

DAY = 86_400.0
T0 = 1_795_000_000.0  # 2026-11-18 07:46 UTC
NUMBER = "+79001234567"


def call(journal: Any, call_id: str, at: float, number: str = NUMBER, **end: str) -> None:
    """One call's notes as the daemon writes them (arrival, topic, other notes, end)."""
    journal.append(call_id, "arrived", {"plan": "shop", "caller_number": number,
                                        "caller_name": "Ivan"}, at)  # fmt: skip
    journal.append(call_id, "prompt", {"prompt": "welcome"}, at + 1)
    if "topic" in end:
        journal.append(call_id, "tag", {"plan": "shop", "node": "m", "tag": end["topic"]}, at + 2)
    journal.append(call_id, "ended", {"outcome": end.get("outcome", "answered"), "plan": "shop",
                                      "node": "q", "seconds": "60"}, at + 60)  # fmt: skip
    if "disposition" in end:
        given = {"agent": "agent1", "queue": "orders", "disposition": end["disposition"]}
        journal.append(call_id, "disposition", given, at + 70)


def ask(
    journal: Any,
    current: str = "now",
    since: float = T0 - 90 * DAY,
    day_start: float = T0 - 3600,
    limit: int = 5,
    number: str = NUMBER,
    others: tuple[str, ...] = (),
) -> CallerHistory:
    history: CallerHistory = journal.caller_history(
        HistoryQuery(number, current, since, day_start, limit, others)
    )
    return history


def shown(history: CallerHistory) -> list[tuple[str, str, str, str]]:
    return [(c.call, c.topic, c.outcome, c.disposition) for c in history.calls]


def test_earlier_calls_newest_first_with_topic_outcome_and_disposition(journal: Any) -> None:
    call(journal, "yesterday", T0 - DAY, topic="returns", disposition="complaint")
    call(journal, "other", T0 - 1800, number="+79990000000", topic="delivery")
    call(journal, "morning", T0 - 1800, topic="delivery", outcome="abandoned")
    call(journal, "now", T0)  # the call the agent answers: not its own history

    history = ask(journal)

    assert shown(history) == [
        ("morning", "delivery", "abandoned", ""),
        ("yesterday", "returns", "answered", "complaint"),
    ]
    assert history.calls[0].at == T0 - 1800
    assert history.today == 1  # this morning's; yesterday's and the current one are not today's


def test_the_same_number_as_networks_spell_it_has_one_history(journal: Any) -> None:
    call(journal, "mobile", T0 - 3 * DAY, number="89001234567", topic="returns")
    call(journal, "landline", T0 - 2 * DAY, number="79001234567", topic="delivery")
    call(journal, "local", T0 - 1800, number="9001234567", topic="orders")
    call(journal, "callback", T0 - 600, number=NUMBER, outcome="abandoned")
    call(journal, "neighbour", T0 - 300, number="89001234568")
    call(journal, "now", T0)

    numbers = spellings(NUMBER, "RU")
    history = ask(journal, number=numbers[0], others=numbers[1:], limit=3)

    assert shown(history) == [
        ("callback", "", "abandoned", ""),
        ("local", "orders", "answered", ""),
        ("landline", "delivery", "answered", ""),
    ]
    assert history.today == 2  # local's and callback's, not the current call
    # One spelling alone finds only its own calls, as before.
    assert [c.call for c in ask(journal, number="89001234567").calls] == ["mobile"]


def test_the_last_calls_of_the_last_days_only(journal: Any) -> None:
    for n in range(8):
        call(journal, f"c{n}", T0 - n * DAY - 600)

    assert [c.call for c in ask(journal, limit=3).calls] == ["c0", "c1", "c2"]
    assert [c.call for c in ask(journal, since=T0 - 2 * DAY).calls] == ["c0", "c1"]
    assert ask(journal, limit=0) == CallerHistory()


@pytest.mark.parametrize("number", ["", "anonymous", "masked", "12"])
def test_withheld_and_masked_numbers_have_no_history(journal: Any, number: str) -> None:
    call(journal, "one", T0 - 600, number=number)
    call(journal, "two", T0 - 300, number=number)

    assert ask(journal, number=number) == CallerHistory()


def test_retention_masking_and_erasure_take_the_history_with_the_number(
    journal: Any, tmp_path: Path, redis_url: str
) -> None:
    callbacks: Any = (
        SqliteCallbacks(tmp_path / "cb.sqlite3")
        if isinstance(journal, SqliteJournal)
        else RedisCallbacks.from_url(redis_url)
    )
    call(journal, "old", T0 - 40 * DAY, topic="returns")
    call(journal, "recent", T0 - DAY, topic="delivery")
    call(journal, "theirs", T0 - DAY, number="+79990000000", topic="delivery")

    forget_numbers(journal, callbacks, T0 - 30 * DAY)  # store.caller_number_days: 30
    assert [c.call for c in ask(journal).calls] == ["recent"]

    erase_number("8 900 123-45-67", journal, callbacks, ())  # the same number, as people write it
    assert ask(journal) == CallerHistory()
    assert [c.call for c in ask(journal, number="+79990000000").calls] == ["theirs"]
    callbacks.close()


def test_an_old_sqlite_journal_gets_the_indexes_once_and_the_query_uses_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ivr.sqlite3"
    old = SqliteJournal(path)
    call(old, "before", T0 - DAY, topic="returns")
    old.close()
    assert not _indexes(path) & {"journal_caller", "journal_call_summary"}

    journal = SqliteJournal(path)
    assert journal.index_history() is True
    assert journal.index_history() is False
    assert [c.call for c in ask(journal).calls] == ["before"]
    journal.close()
    assert {"journal_caller", "journal_call_summary"} <= _indexes(path)
    assert SqliteJournal(path).index_history() is False  # a later start finds them

    db = sqlite3.connect(path)

    def plan(query: str, *given: object) -> str:
        return str(db.execute("EXPLAIN QUERY PLAN " + query, given).fetchall())

    plans = [
        plan(arrivals(1), NUMBER, 0, "x", 5),
        plan(arrivals(3), NUMBER, "a", "b", 0, "x", 5),
        plan(SUMMARIES + "(?)", "x"),
    ]
    assert "USING INDEX journal_caller" in plans[0]
    assert "USING INDEX journal_caller" in plans[1]  # several spellings: the index still
    assert "USING INDEX journal_call_summary" in plans[2]


def _indexes(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        db.close()


@pytest.fixture(params=["sqlite", "redis"])
def writer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreWriter]:
    """The daemon's writer thread over each backend, on an empty store."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()

        def backend() -> Backend:
            return RedisBackend(url, 2.0, "history")
    else:

        def backend() -> Backend:
            return SqliteBackend(tmp_path / "ivr.sqlite3", tmp_path / "cb.sqlite3", 2.0)

    writer = StoreWriter(backend).start()
    yield writer
    writer.close(5.0)


def test_notes_written_as_the_daemon_writes_them_are_found(writer: StoreWriter) -> None:
    journal = BufferedJournal(writer)
    call(journal, "first", T0 - 7200, topic="returns", disposition="follow-up")
    call(journal, "second", T0 - 3000, topic="delivery")
    call(journal, "now", T0)
    assert _landed(writer)

    history = writer.call(lambda store: ask(store), timeout=5.0)

    assert shown(history) == [
        ("second", "delivery", "answered", ""),
        ("first", "returns", "answered", "follow-up"),
    ]
    assert history.today == 1


def _landed(writer: StoreWriter, seconds: float = 5.0) -> bool:
    """Wait (on the writer's own reads, not a sleep) until every write has landed."""
    deadline = time.monotonic() + seconds
    while any(writer.pending().values()):
        if time.monotonic() > deadline:
            return False
        writer.call(lambda store: None, timeout=1.0)
    return True


def test_redis_appends_outside_the_writer_index_too(redis_journal: RedisJournal) -> None:
    call(redis_journal, "direct", T0 - 600, topic="returns")
    keys = set(redis_journal.client.keys("ivr:journal:*"))
    assert keys == {"ivr:journal:caller:" + NUMBER, "ivr:journal:call:direct"}
    ttl = redis_journal.client.pttl("ivr:journal:caller:" + NUMBER)
    assert 0 < int(ttl) <= 90 * DAY * 1000  # gone with the journal's retention
