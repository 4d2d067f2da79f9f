"""The screen pop counts the caller's calls of the day, and forgets earlier days."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.screen_pop import ScreenPops

MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()
DAY = 86_400.0


def arrive(pops: ScreenPops, call: str, number: str, at: float) -> None:
    pops.record(Note(call, NoteKind.ARRIVED, {"caller_number": number}), at)


def answer(pops: ScreenPops, call: str, number: str, at: float) -> int:
    fields = {"caller_number": number, "agent": "agent1", "wait": "3"}
    pops.record(Note(call, NoteKind.ANSWERED, fields), at)
    return int(pops.latest["agent1"]["previous_calls_today"])


def test_the_agent_sees_how_often_the_caller_rang_today_and_not_yesterday() -> None:
    pops = ScreenPops()
    for n, at in enumerate((MORNING, MORNING + 60, MORNING + 120)):
        arrive(pops, f"c{n}", "+79001234567", at)
    assert answer(pops, "c2", "+79001234567", MORNING + 130) == 2
    arrive(pops, "c3", "+79001234567", MORNING + DAY)
    assert answer(pops, "c3", "+79001234567", MORNING + DAY + 10) == 0


def test_a_day_of_new_callers_is_forgotten_the_next_day() -> None:
    pops = ScreenPops()
    for n in range(1000):
        arrive(pops, f"c{n}", f"+7900{n:07d}", MORNING + n)
    arrive(pops, "next", "+79990000000", MORNING + DAY)
    assert len(pops._calls_today) == 1
