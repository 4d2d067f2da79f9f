"""The callback book: when it next has work, retries, windows and the hours it may call in."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.callbacks.book import (
    DAY,
    TOPIC_LIMIT,
    CallbackBook,
    CallbackRules,
    Refusal,
    clean_topic,
    topic_problem,
)
from ivr.callbacks.dialer import Dial
from ivr.callbacks.dialer import ring as ring_agents
from ivr.callbacks.task import CallbackTask
from ivr.calls.legs import RingAgent
from ivr.routing.results import Offer
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
    task = book.request(
        "+79991234567", "returns", "web", NIGHT, not_before=NIGHT + 600, not_after=NIGHT + 900
    )
    assert isinstance(task, CallbackTask)
    assert book.next_due(NIGHT) == NIGHT + 600
    book.dialling(task)
    assert book.next_due(NIGHT) is None  # under way: nothing to do until its outcome
    book.attempt(task, NIGHT + 650, "no-answer")
    assert book.next_due(NIGHT + 650) == NIGHT + 900  # the retry would come after the window
    assert book.expired(NIGHT + 900) == [task] and task.status == "expired"
    assert book.next_due(NIGHT + 900) is None


# --- no input can break the book (issue 13) ---

YEAR_10000 = datetime(9999, 12, 31, 23, 0, tzinfo=UTC).timestamp() + 7200


def office_hours() -> CallbackRules:
    hours = load_schedules(
        {"day": {"timezone": "Europe/Moscow", "weekly": {"mon-fri": "09:00-18:00"}}}
    )
    return CallbackRules(hours=hours["day"])


def stored(**fields: object) -> dict[str, object]:
    """A task as the store keeps it (JSON), booked at night, with `fields` changed."""
    task = CallbackTask(
        id="t1",
        number="+79001234567",
        queue="returns",
        source="web",
        requested_at=NIGHT,
        place=NIGHT,
        next_attempt_at=NIGHT,
    )
    return {**task.to_json(), **fields}


@pytest.mark.parametrize("moment", [YEAR_10000, 1e300, math.nan, math.inf, -math.inf])
def test_a_window_out_of_the_calendar_is_refused_and_the_book_keeps_working(moment: float) -> None:
    book = CallbackBook(office_hours())
    for refused in (
        book.request("+79001234567", "returns", "web", NIGHT, not_before=moment),
        book.request("+79001234567", "returns", "web", NIGHT, not_after=moment),
    ):
        assert isinstance(refused, Refusal) and refused.reason == "invalid-window"
    assert book.next_due(NIGHT) is None and book.tasks == {}
    task = book.request("89001234567", "returns", "web", NIGHT)
    assert isinstance(task, CallbackTask) and task.number == "+79001234567"
    assert book.next_due(NIGHT) == NINE and book.due(NINE) == [task]


def test_a_window_may_start_a_little_in_the_past_but_not_reach_beyond_the_days_ahead() -> None:
    book = CallbackBook(CallbackRules(max_days_ahead=2))
    late = book.request("+79001234567", "returns", "web", NIGHT, not_before=NIGHT - 301)
    assert isinstance(late, Refusal) and "past" in late.message
    far = book.request("+79001234567", "returns", "web", NIGHT, not_after=NIGHT + 2 * DAY + 1)
    assert isinstance(far, Refusal) and "2 days ahead" in far.message
    empty = book.request(
        "+79001234567", "returns", "web", NIGHT, not_before=NIGHT + 600, not_after=NIGHT + 600
    )
    assert isinstance(empty, Refusal) and empty.reason == "invalid-window"
    task = book.request(
        "+79001234567", "returns", "web", NIGHT, not_before=NIGHT - 200, not_after=NIGHT + 2 * DAY
    )
    assert isinstance(task, CallbackTask) and task.next_attempt_at == NIGHT


def test_tasks_the_store_kept_that_cannot_be_worked_out_are_set_aside_not_raised_on() -> None:
    kept = [
        stored(id="good", number="89001234567"),  # an older spelling: kept, in E.164
        stored(id="year10000", not_before=YEAR_10000),
        stored(id="nan", next_attempt_at=math.nan),
        stored(id="text", not_after="tomorrow"),
        stored(id="zeros", number="+0000000"),
        stored(id="rude", topic="Order\r\n\x00\u202e42"),  # kept, topic cleaned
        {"id": "half"},  # missing fields
        "not a task",
    ]
    book = CallbackBook.from_store(office_hours(), kept)
    assert set(book.tasks) == {"good", "rude"}
    assert book.tasks["good"].number == "+79001234567"
    assert book.tasks["rude"].topic == "Order 42"
    why = {aside.task_id: aside.why for aside in book.refused}
    assert why == {
        "year10000": "invalid-time",
        "nan": "invalid-time",
        "text": "unreadable",
        "zeros": "invalid-number",
        "half": "unreadable",
        "None": "unreadable",
    }
    # Set aside and failed, to be saved: not loaded again after the next restart.
    assert all(a.task.status == "failed" for a in book.refused if a.task is not None)
    assert book.next_due(NIGHT) == NINE
    assert [t.id for t in book.due(NINE)] == ["good", "rude"]


def test_a_task_out_of_the_calendar_that_slips_in_is_looked_at_later_not_raised_on() -> None:
    book = CallbackBook(office_hours())
    task = CallbackTask.from_json(stored(next_attempt_at=1e300))
    book.tasks[task.id] = task  # past the book's checks, as a bug elsewhere might put it
    assert book.next_due(NIGHT) == 1e300
    assert not book.has_work(NIGHT) and book.due(NIGHT) == []


def test_three_spellings_of_one_number_are_one_task_and_one_count() -> None:
    book = CallbackBook(CallbackRules(per_number_per_day=2))
    first = book.request("+79001234567", "returns", "web", NIGHT)
    assert book.request("79001234567", "returns", "web", NIGHT) is first
    assert book.request("8 (900) 123-45-67", "returns", "caller", NIGHT) is first
    assert book.open_task("89001234567", "returns") is first
    second = book.request("89001234567", "sales", "web", NIGHT)
    assert isinstance(second, CallbackTask) and len(book.tasks) == 2
    third = book.request("79001234567", "care", "web", NIGHT)
    assert isinstance(third, Refusal) and third.reason == "limit"


def test_a_queue_takes_at_most_its_open_tasks_from_callers_and_the_website() -> None:
    book = CallbackBook(CallbackRules(max_open_per_queue=2))
    for number in ("+79001110001", "+79001110002"):
        assert isinstance(book.request(number, "returns", "web", NIGHT), CallbackTask)
    full = book.request("+79001110003", "returns", "caller", NIGHT)
    assert isinstance(full, Refusal) and full.reason == "queue-full"
    assert isinstance(book.request("+79001110003", "sales", "web", NIGHT), CallbackTask)
    # A voicemail left is the shop's promise: booked even when the queue is full.
    kept = book.request("+79001110004", "returns", "voicemail", NIGHT, voicemail="vm-1")
    assert isinstance(kept, CallbackTask)
    done = book.tasks[next(iter(book.tasks))]
    done.status = "done"  # one fewer open: room again (the voicemail's counts too)
    again = book.request("+79001110005", "returns", "web", NIGHT)
    assert isinstance(again, Refusal) and again.reason == "queue-full"
    kept.status = "done"
    assert isinstance(book.request("+79001110005", "returns", "web", NIGHT), CallbackTask)


def test_only_the_websites_requests_get_a_reference_to_read_them_back_by() -> None:
    book = CallbackBook(CallbackRules())
    web = book.request("+79001110001", "returns", "web", NIGHT)
    caller = book.request("+79001110002", "returns", "caller", NIGHT)
    assert isinstance(web, CallbackTask) and isinstance(caller, CallbackTask)
    assert len(web.reference) >= 24 and caller.reference == ""
    assert book.by_reference(web.reference) is web
    assert book.by_reference("") is None and book.by_reference(web.reference[:-1]) is None


@pytest.mark.parametrize(
    "topic", ["a\rb", "a\nb", "a\x00b", "a\tb", "a\x1bb", "a\x85b", "a\u2028b", "a\u202eb"]
)
def test_a_topic_with_a_control_character_is_refused_and_cleaned_when_it_comes_anyway(
    topic: str,
) -> None:
    assert topic_problem(topic) is not None
    assert clean_topic(topic) == "a b"
    book = CallbackBook(CallbackRules())
    task = book.request("+79001234567", "returns", "caller", NIGHT, topic=topic)
    assert isinstance(task, CallbackTask) and task.topic == "a b"


def test_a_plain_topic_in_any_script_passes_and_a_long_one_is_refused() -> None:
    assert topic_problem("заказ 42 — возврат") is None
    assert topic_problem("x" * TOPIC_LIMIT) is None
    assert topic_problem("x" * (TOPIC_LIMIT + 1)) is not None


def test_the_agents_phone_shows_the_callback_and_its_topic_with_nothing_that_breaks_sip() -> None:
    task = CallbackTask.from_json(stored(topic='Order "42" <b>\\\r\nVia: evil\x00'))
    dial = Dial("cb-t1-1", task, "PJSIP/+79001234567@trunk", "", 30)
    offer = Offer("cb-t1-1", "returns", ("agent1",), ("PJSIP/agent1",), 15)
    [ring] = [c for c in ring_agents(dial, offer) if isinstance(c, RingAgent)]
    assert ring.caller_id == '"Callback Order 42 b Via: evil" <+79001234567>'


def test_an_erased_number_leaves_the_book_and_is_no_longer_work() -> None:
    hours = load_schedules(
        {"day": {"timezone": "Europe/Moscow", "weekly": {"mon-fri": "09:00-18:00"}}}
    )
    book = CallbackBook(CallbackRules(hours=hours["day"]))
    gone = book.request("+79991234567", "returns", "web", NIGHT)
    kept = book.request("+79997654321", "returns", "web", NIGHT + 60)
    assert isinstance(gone, CallbackTask) and isinstance(kept, CallbackTask)
    assert book.next_due(NIGHT) == NINE
    book.dialling(kept)
    assert book.let_go(lambda number: number == kept.number) is None  # being dialled
    assert book.let_go(lambda number: number == gone.number) == [gone]
    assert list(book.tasks) == [kept.id]
    assert book.next_due(NIGHT) is None and not book.has_work(NINE)
