"""The book keeps how many callbacks are open (the `ivr_callbacks_pending` gauge, and how many
a caller hears are ahead) as tasks change, equal to counting them, without a sort a second."""

from __future__ import annotations

import operator
from functools import partial

from hypothesis import given
from hypothesis import strategies as st

from ivr.callbacks.book import DAY, CallbackBook, CallbackRules
from ivr.callbacks.task import CallbackTask

START = 1_800_000_000.0
NUMBERS = ("+79001234567", "89001234568", "+79001234569", "79001234560")
QUEUES = ("returns", "sales")
OUTCOMES = ("connected", "no-answer", "busy", "no-queue")
KINDS = ("request", "dial", "attempt", "expire", "forget", "let-go", "wait")


def counted(book: CallbackBook) -> tuple[int, dict[str, int]]:
    pending = book.pending()
    return len(pending), {q: sum(1 for t in pending if t.queue == q) for q in QUEUES}


def test_a_task_whose_queue_is_gone_fails_at_once_and_leaves_the_count() -> None:
    book = CallbackBook(CallbackRules(max_attempts=3))
    task = book.request("+79001234567", "returns", "web", START)
    assert isinstance(task, CallbackTask)
    assert book.pending_count() == book.pending_count("returns") == 1
    book.attempt(task, START, "no-queue")  # the plans no longer have the queue
    assert task.status == "failed" and task.attempts == 1
    assert book.pending_count() == book.pending_count("returns") == 0


def test_tasks_from_the_store_are_counted_and_unusable_ones_are_not() -> None:
    good = CallbackTask("a", "+79001234567", "returns", "web", START, START)
    done = CallbackTask("b", "+79001234568", "sales", "web", START, START, status="done")
    bad = CallbackTask("c", "12", "sales", "web", START, START)  # set aside, failed
    book = CallbackBook(CallbackRules(), [good, done, bad])
    assert (book.pending_count(), book.pending_count("returns")) == (1, 1)
    assert book.pending_count("sales") == 0


@given(
    st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 99), st.integers(0, 99)), max_size=50)
)
def test_the_open_count_equals_counting_after_every_change(
    steps: list[tuple[str, int, int]],
) -> None:
    rules = CallbackRules(max_attempts=2, per_number_per_day=3, max_open_per_queue=3)
    book = CallbackBook(rules)
    now = START
    for kind, a, b in steps:
        tasks = sorted(book.tasks.values(), key=lambda t: t.id)
        task = tasks[a % len(tasks)] if tasks else None
        match kind:
            case "request":
                window = START + DAY if b % 3 == 0 else None
                book.request(
                    NUMBERS[a % len(NUMBERS)], QUEUES[b % 2], ("web", "caller", "abandon")[a % 3],
                    now, not_after=window if window and window > now else None,
                )  # fmt: skip
            case "dial" if task is not None and task.status == "pending":
                book.dialling(task)
            case "attempt" if task is not None and task.id in book.dialing:
                book.attempt(task, now, OUTCOMES[b % len(OUTCOMES)])
            case "expire":
                book.expired(now)
            case "forget":
                book.forget_before(now - DAY)
            case "let-go" if task is not None and task.id not in book.dialing:
                book.let_go(partial(operator.eq, task.number))
            case "wait":
                now += 3600.0 * (1 + b % 12)
        total, by_queue = counted(book)
        assert book.pending_count() == total
        assert {q: book.pending_count(q) for q in QUEUES} == by_queue
