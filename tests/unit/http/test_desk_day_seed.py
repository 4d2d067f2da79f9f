"""Today's wallboard figures after a restart mid-day: seeded from the journal in the store
(the day so far, in the site's time zone), then counted as the notes go by, nothing twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis

from ivr.calls.commands import Note
from ivr.http.desk_day import DayFigures, counted
from ivr.store.buffered import BufferedJournal
from ivr.store.port import Entry
from ivr.store.redis_writes import RedisBackend
from ivr.store.sqlite_writes import SqliteBackend
from ivr.store.writer import StoreWriter
from ivr.store.writes import Backend

MOSCOW = ZoneInfo("Europe/Moscow")
# 30 November in Moscow began at 21:00 UTC on the 29th.
MIDNIGHT = datetime(2026, 11, 29, 21, 0, tzinfo=UTC).timestamp()
RESTART = MIDNIGHT + 12 * 3600  # noon


@pytest.fixture(params=["sqlite", "redis"])
def writer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreWriter]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()

        def backend() -> Backend:
            return RedisBackend(url, 2.0, "day")
    else:

        def backend() -> Backend:
            return SqliteBackend(tmp_path / "ivr.sqlite3", tmp_path / "cb.sqlite3", 2.0)

    kept = StoreWriter(backend).start()
    yield kept
    kept.close(5.0)


def answered(call: str, wait: str) -> Note:
    return Note(call, "answered", {"queue": "orders", "wait": wait, "sla": "20", "agent": "a1"})


DAY_SO_FAR = [
    (MIDNIGHT - 60, answered("yesterday", "5")),  # 23:59 the day before: not today's
    (MIDNIGHT + 60, answered("early", "5")),
    (MIDNIGHT + 3600, answered("slow", "45")),
    (MIDNIGHT + 7200, Note("gone", "queue_abandoned", {"queue": "orders", "wait": "30"})),
    (MIDNIGHT + 7300, Note("gone", "ended", {"outcome": "abandoned"})),
    (MIDNIGHT + 9000, Note("early", "survey_answer", {"kind": "csat", "score": "4"})),
    (MIDNIGHT + 9100, Note("early", "survey_answer", {"kind": "nps", "score": "10"})),
]


def test_a_restart_at_noon_starts_from_the_morning_s_figures(writer: StoreWriter) -> None:
    journal = BufferedJournal(writer)
    for at, note in DAY_SO_FAR:
        journal.append(note.call_id, note.kind, note.fields, at)
    # Written by the new daemon just after its start: counted live, not seeded again.
    late = answered("after", "2")
    journal.append(late.call_id, late.kind, late.fields, RESTART + 5)
    assert _landed(writer)

    day = DayFigures(MOSCOW)
    start = day.day_start(RESTART)
    notes = writer.call(lambda store: counted(store.read_journal(start, RESTART)), 5.0)
    assert day.seed(notes, RESTART) == 5
    day.record(late, RESTART + 5)

    view = day.view(RESTART + 10)
    assert view["day"] == "2026-11-30"
    assert view["queues"] == {
        "orders": {"answered": 3, "answered_in_sla": 2, "abandoned": 1, "service_level": 50.0}
    }
    assert view["survey"] == {"csat": 4.0, "csat_answers": 1, "nps": 100, "nps_answers": 1}


def test_a_seed_that_comes_after_midnight_counts_nothing_into_the_new_day() -> None:
    day = DayFigures(MOSCOW)
    day.record(answered("new-day", "1"), MIDNIGHT + 86_400 + 5)  # the next day already
    late = [Entry(MIDNIGHT + 60, "early", "answered", answered("early", "5").fields)]
    assert day.seed(late, RESTART) == 0
    assert day.view(MIDNIGHT + 86_400 + 10)["queues"]["orders"]["answered"] == 1


def _landed(writer: StoreWriter, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while any(writer.pending().values()):
        if time.monotonic() > deadline:
            return False
        writer.call(lambda store: None, timeout=1.0)
    return True
