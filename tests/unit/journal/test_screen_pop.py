"""The screen pop's earlier calls and calls today come from the journal in the store (so a
restart forgets nothing), read off the event loop; nothing is kept per number in memory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.caller_history import JournalHistory
from ivr.journal.screen_pop import ScreenPops
from ivr.journal.store_sink import JournalSink
from ivr.store.buffered import BufferedJournal
from ivr.store.sqlite_writes import SqliteBackend
from ivr.store.writer import StoreWriter

MOSCOW = ZoneInfo("Europe/Moscow")
# 02:30 in Moscow on 30 November is 23:30 UTC on the 29th: the same day for the shop.
NIGHT = datetime(2026, 11, 29, 23, 30, tzinfo=UTC).timestamp()
MORNING = datetime(2026, 11, 30, 6, 0, tzinfo=UTC).timestamp()  # 09:00 in Moscow
NUMBER = "+79001234567"


class Store:
    """The daemon's store (a SQLite file behind its writer thread), opened and closed as a
    daemon starts and stops."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writer = StoreWriter(self._backend).start()
        self.sink = JournalSink(BufferedJournal(self.writer))

    def _backend(self) -> SqliteBackend:
        return SqliteBackend(self.folder / "ivr.sqlite3", self.folder / "cb.sqlite3", 2.0)

    def restart(self) -> None:
        self.writer.close(5.0)
        self.writer = StoreWriter(self._backend).start()
        self.sink = JournalSink(BufferedJournal(self.writer))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    kept = Store(tmp_path)
    yield kept
    kept.writer.close(5.0)


def a_call(store: Store, call: str, at: float, topic: str, disposition: str = "") -> None:
    notes = [
        (Note(call, NoteKind.ARRIVED, {"caller_number": NUMBER, "plan": "shop"}), at),
        (Note(call, NoteKind.TAG, {"tag": topic}), at + 5),
        (Note(call, NoteKind.ENDED, {"outcome": "answered"}), at + 100),
    ]
    if disposition:
        notes.append((Note(call, NoteKind.DISPOSITION, {"disposition": disposition}), at + 110))
    for note, when in notes:
        store.sink.record(note, when)


def answered(pops: ScreenPops, call: str, at: float, agent: str = "agent1") -> None:
    fields = {"caller_number": NUMBER, "agent": agent, "wait": "3", "topic": "delivery"}
    pops.record(Note(call, NoteKind.ANSWERED, fields), at)


async def test_after_a_restart_the_pop_shows_the_earlier_calls_and_todays_count(
    store: Store,
) -> None:
    a_call(store, "night", NIGHT, "returns", disposition="complaint")
    a_call(store, "yesterday", NIGHT - 86_400, "delivery")
    store.restart()  # a new daemon: nothing of those calls in its memory
    pops = ScreenPops(history=JournalHistory(store.writer, MOSCOW))
    changed = asyncio.Event()
    pops.on_change = changed.set
    store.sink.record(Note("now", NoteKind.ARRIVED, {"caller_number": NUMBER}), MORNING)

    answered(pops, "now", MORNING + 20)
    assert pops.latest["agent1"]["previous"] == []  # read off the event loop, then filled in
    await asyncio.wait_for(changed.wait(), 5.0)

    pop = pops.latest["agent1"]
    assert [(p["call"], p["topic"], p["outcome"], p["disposition"]) for p in pop["previous"]] == [
        ("night", "returns", "answered", "complaint"),
        ("yesterday", "delivery", "answered", ""),
    ]
    assert pop["previous"][0]["at"] == NIGHT
    assert pop["previous_calls_today"] == 1  # 02:30 in Moscow is today; yesterday's is not


async def test_a_store_that_does_not_answer_leaves_the_pop_without_them(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    pops = ScreenPops(history=JournalHistory(store.writer, MOSCOW))
    store.writer.close(5.0)  # the writer gone: every read fails

    with caplog.at_level(logging.WARNING):
        answered(pops, "now", MORNING)
        await asyncio.wait_for(pops.settled(), 5.0)

    assert pops.latest["agent1"]["previous"] == []
    assert "screen_pop.history_failed" in caplog.text


async def test_nothing_is_kept_per_number_in_memory(store: Store) -> None:
    pops = ScreenPops(history=JournalHistory(store.writer, MOSCOW))
    for n in range(300):
        pops.record(Note(f"c{n}", NoteKind.ARRIVED, {"caller_number": f"+7900{n:07d}"}), MORNING)
        answered(pops, f"c{n}", MORNING + n, agent=f"agent{n % 3}")
        pops.record(Note(f"c{n}", NoteKind.ENDED, {"outcome": "answered"}), MORNING + n + 1)
    await asyncio.wait_for(pops.settled(), 10.0)

    # One pop per agent, the latest; no other container at all.
    assert sorted(pops.latest) == ["agent0", "agent1", "agent2"]
    held = {k: v for k, v in vars(pops).items() if isinstance(v, dict | list | set) and v}
    assert set(held) == {"latest"}
