"""The callback book: when it next has work, retries, windows and the hours it may call in."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.callbacks.book import CallbackBook, CallbackRules
from ivr.callbacks.task import CallbackTask
from ivr.schedule.load import load_schedules

MOSCOW = ZoneInfo("Europe/Moscow")
NIGHT = datetime(2026, 11, 24, 2, 0, tzinfo=MOSCOW).timestamp()
NINE = datetime(2026, 11, 24, 9, 0, tzinfo=MOSCOW).timestamp()


def test_a_task_booked_at_night_is_due_when_the_callback_hours_open() -> None:
    hours = load_schedules(
        {"day": {"timezone": "Europe/Moscow", "weekly": {"mon-fri": "09:00-18:00"}}}
    )
    book = CallbackBook(CallbackRules(hours=hours["day"]))
    task = book.request("+79991234567", "returns", "web", NIGHT)
    assert isinstance(task, CallbackTask)
    assert book.next_due(NIGHT) == NINE
    assert not book.has_work(NINE - 1) and book.due(NIGHT) == []
    assert book.has_work(NINE) and book.due(NINE) == [task]


def test_a_window_that_closes_is_work_too_and_the_task_expires() -> None:
    book = CallbackBook(CallbackRules())
    task = book.request("+79991234567", "returns", "web", NIGHT, not_before=NIGHT + 600,
                        not_after=NIGHT + 900)  # fmt: skip
    assert isinstance(task, CallbackTask)
    assert book.next_due(NIGHT) == NIGHT + 600
    book.dialling(task)
    assert book.next_due(NIGHT) is None  # under way: nothing to do until its outcome
    book.attempt(task, NIGHT + 650, "no-answer")
    assert book.next_due(NIGHT + 650) == NIGHT + 900  # the retry would come after the window
    assert book.expired(NIGHT + 900) == [task] and task.status == "expired"
    assert book.next_due(NIGHT + 900) is None
