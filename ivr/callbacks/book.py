"""The callback book: requests checked and limited, and which callbacks are due when (pure).

Nothing a request or the store holds can break it: a task whose times cannot be worked out is
refused when it is asked for, and set aside (`refused`) when the store hands it back."""

from __future__ import annotations

import math
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from ivr.callbacks.numbers import NumberRefused, dialable
from ivr.callbacks.task import CallbackTask, Source, Status
from ivr.calls.caller_id import safe_name
from ivr.schedule.schedule import Schedule

DAY = 86_400.0
GRACE = 300.0  # a window may begin this far in the past: the website's clock may be behind
TOPIC_LIMIT = 40  # characters of a topic kept: the agent's phone shows "Callback <topic>"
# Times past this are refused: the hours' calendar works in datetimes, which end in 9999.
LAST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC).timestamp()
ASKED: tuple[Source, ...] = ("caller", "web")  # requests someone made: these are capped
# Outcomes no retry can mend (the task's queue is gone from the plans): the task fails at once.
HOPELESS = frozenset({"no-queue"})


@dataclass(frozen=True)
class CallbackRules:
    """How callbacks are made: retries, limits per number, and the hours they may be made in."""

    retry_delay: float = 300.0
    max_attempts: int = 3
    per_number_per_day: int = 3
    hours: Schedule | None = None  # None: whenever an agent of the queue is on duty
    dial: str = "PJSIP/{number}@trunk"  # how the customer is reached
    caller_id: str = ""  # what the customer's phone shows: the shop's number
    ring_seconds: float = 30.0
    country: str = "RU"  # national spellings are numbers of this country
    international: bool = False  # numbers of other country codes may be called back
    max_open_per_queue: int = 200  # pending tasks a queue takes from callers and the website
    max_days_ahead: float = 14.0  # how far ahead a time window may reach


@dataclass(frozen=True)
class Refusal:
    """Why a request was not taken: `reason` is a short code, `message` says it to a person."""

    reason: str
    message: str


@dataclass(frozen=True)
class SetAside:
    """A task the store handed back that the book cannot keep: `task` is None if unreadable,
    else it is marked failed (to be saved so that it is not loaded again)."""

    task_id: str
    why: str
    task: CallbackTask | None = field(default=None, compare=False)


class CallbackBook:
    """Every callback still to make, and the recent ones (for the per-number limit)."""

    def __init__(self, rules: CallbackRules, tasks: Iterable[CallbackTask] = ()) -> None:
        self.rules = rules
        self.tasks: dict[str, CallbackTask] = {}
        self.refused: list[SetAside] = []  # tasks handed in that could not be kept
        # The pending tasks (id -> queue), and how many each queue has: kept at every change
        # of a task's status, so the metrics tick and callers asking never count or sort.
        self._open: dict[str, str] = {}
        self._open_in: dict[str, int] = {}
        for task in tasks:
            self._admit(task)
        self.dialing: set[str] = set()  # tasks whose attempt is under way
        # next_due is asked after every event: it is worked out again only after a change.
        self._next: float | None = None
        self._stale = True

    @classmethod
    def from_store(cls, rules: CallbackRules, kept: Iterable[Any]) -> CallbackBook:
        """The book of the tasks a store kept, whatever they hold: unreadable ones set aside."""
        tasks: list[CallbackTask] = []
        unreadable: list[SetAside] = []
        for data in kept:
            try:
                tasks.append(CallbackTask.from_json(data))
            except (TypeError, ValueError, AttributeError):
                task_id = data.get("id") if isinstance(data, dict) else None
                unreadable.append(SetAside(str(task_id)[:40], "unreadable"))
        book = cls(rules, tasks)
        book.refused[:0] = unreadable
        return book

    def dialable(self, number: str) -> str | Refusal:
        """The number in E.164 if the shop may call it (the rules' country), else a Refusal."""
        try:
            return dialable(number, self.rules.country, self.rules.international)
        except NumberRefused as exc:
            return Refusal("invalid-number", str(exc))

    def open_task(self, number: str, queue: str) -> CallbackTask | None:
        """The pending task already booked for this number (any spelling) and queue, if any."""
        e164 = self.dialable(number)
        for task in self.tasks.values():
            if task.number == e164 and task.queue == queue and task.status == "pending":
                return task
        return None

    def request(
        self,
        number: str,
        queue: str,
        source: Source,
        now: float,
        *,
        place: float | None = None,
        topic: str = "",
        language: str = "",
        priority: int = 0,
        not_before: float | None = None,
        not_after: float | None = None,
        voicemail: str = "",
    ) -> CallbackTask | Refusal:
        """A new task, the open one already booked for this number and queue, or a Refusal.

        The number is kept in E.164, the topic without control characters; callers' and the
        website's requests are capped per number and day and per queue."""
        e164 = self.dialable(number)
        if isinstance(e164, Refusal):
            return e164
        problem = self.window_problem(now, not_before, not_after)
        if problem:
            return Refusal("invalid-window", problem)
        booked = self.open_task(e164, queue)
        if booked is not None:
            if voicemail and not booked.voicemail:
                booked.voicemail = voicemail
            return booked
        if source in ASKED:
            refusal = self._over_a_cap(e164, queue, now)
            if refusal is not None:
                return refusal
        task = CallbackTask(
            id=uuid.uuid4().hex[:16],
            number=e164,
            queue=queue,
            source=source,
            requested_at=now,
            place=place if place is not None and math.isfinite(place) else now,
            topic=clean_topic(topic),
            language=language,
            priority=priority,
            not_before=not_before,
            not_after=not_after,
            voicemail=voicemail,
            next_attempt_at=max(now, not_before or now),
            # Only the website reads tasks back: the key it gets is its proof of booking.
            reference=secrets.token_urlsafe(18) if source == "web" else "",
        )
        self.tasks[task.id] = task
        self._track(task)
        self._stale = True
        return task

    def window_problem(
        self, now: float, not_before: float | None, not_after: float | None
    ) -> str | None:
        """What is wrong with a time window asked for at `now`, if anything."""
        days = self.rules.max_days_ahead
        for name, moment in (("not_before", not_before), ("not_after", not_after)):
            if moment is None:
                continue
            if not math.isfinite(moment):
                return f"{name} must be a time, not {moment}"
            if moment < now - GRACE:
                return f"{name} is in the past"
            if moment > now + days * DAY:
                return f"{name} is more than {days:g} days ahead"
        if not_after is not None and not_after <= max(now, not_before or now):
            return "the time window is over before it begins (not_after must be later)"
        return None

    def by_reference(self, reference: str) -> CallbackTask | None:
        """The web request with this reference, while the book holds it (a day after it ends)."""
        wanted = reference.encode()
        for task in self.tasks.values():
            if task.reference and secrets.compare_digest(task.reference.encode(), wanted):
                return task
        return None

    def _over_a_cap(self, number: str, queue: str, now: float) -> Refusal | None:
        recent = sum(
            1
            for task in self.tasks.values()
            if task.number == number and task.source in ASKED and task.requested_at > now - DAY
        )
        if recent >= self.rules.per_number_per_day:
            return Refusal(
                "limit",
                f"this number asked for {recent} callbacks in the last 24 hours; "
                f"the limit is {self.rules.per_number_per_day}",
            )
        waiting = sum(1 for t in self.tasks.values() if t.queue == queue and t.status == "pending")
        if waiting >= self.rules.max_open_per_queue:
            return Refusal(
                "queue-full",
                f"{waiting} callbacks are waiting in this queue, the most it takes; "
                "please try again later",
            )
        return None

    def _admit(self, task: CallbackTask) -> None:
        """Keep a task handed in (the store's), or set it aside saying why."""
        why = _unusable(task)
        if why is None:
            e164 = self.dialable(task.number)
            if isinstance(e164, Refusal):
                why = "invalid-number"
            else:
                task.number = e164  # kept in an older spelling: one spelling for every check
                task.topic = clean_topic(task.topic)
        if why is None:
            self.tasks[task.id] = task
            self._track(task)
            return
        if task.status == "pending":
            task.status = "failed"
            task.history.append({"outcome": "set-aside", "why": why})
        task_id = task.id if isinstance(task.id, str) else repr(task.id)
        self.refused.append(SetAside(task_id[:40], why, task if isinstance(task.id, str) else None))

    def dialling(self, task: CallbackTask) -> None:
        """An attempt at `task` is under way: it is not due again until its outcome is known."""
        self.dialing.add(task.id)
        self._stale = True

    def has_work(self, now: float) -> bool:
        """True when a task is due or expires at `now` (cheap: the answer is cached)."""
        due = self.next_due(now)
        return due is not None and now >= due

    def due(self, now: float) -> list[CallbackTask]:
        """Pending tasks that may be dialled now (in their window, in hours, retry delay over)."""
        if not self._in_hours(now):
            return []
        return [
            task
            for task in self.tasks.values()
            if task.status == "pending"
            and task.id not in self.dialing
            and task.next_attempt_at <= now
            and (task.not_after is None or now < task.not_after)
        ]

    def expired(self, now: float) -> list[CallbackTask]:
        """Pending tasks whose window closed: marked expired and returned (to be saved)."""
        gone = [
            task
            for task in self.tasks.values()
            if task.status == "pending"
            and task.id not in self.dialing
            and task.not_after is not None
            and now >= task.not_after
        ]
        for task in gone:
            task.status = "expired"
            task.history.append({"at": f"{now:.0f}", "outcome": "expired"})
            self._track(task)
        self._stale = self._stale or bool(gone)
        return gone

    def next_due(self, now: float) -> float | None:
        """When a pending task next becomes due or expires, if ever (may be early, never late)."""
        if self._stale:
            self._next = self._work_out_next(now)
            self._stale = False
        return self._next

    def _work_out_next(self, now: float) -> float | None:
        waiting = [
            t for t in self.tasks.values() if t.status == "pending" and t.id not in self.dialing
        ]
        if not waiting:
            return None
        first = min(max(task.next_attempt_at, task.not_before or 0.0) for task in waiting)
        hours = self.rules.hours
        if hours is not None:
            try:
                if not self._in_hours(max(now, first)):
                    opening = hours.next_opening(datetime.fromtimestamp(max(now, first), UTC))
                    first = opening.timestamp() if opening is not None else math.inf
            except (OverflowError, ValueError, OSError):
                # Out of the calendar's range (admission keeps tasks out of it): looked at
                # again in a minute rather than raising on every event.
                first = max(first, now + 60.0)
        ends = [task.not_after for task in waiting if task.not_after is not None]
        soonest = min([first, *ends])
        return soonest if soonest != math.inf else None

    def attempt(self, task: CallbackTask, now: float, outcome: str) -> CallbackTask:
        """Record how an attempt ended ("connected", or why not); retries are spaced out."""
        self.dialing.discard(task.id)
        self._stale = True
        task.attempts += 1
        task.history.append({"at": f"{now:.0f}", "outcome": outcome})
        if outcome == "connected":
            task.status = "done"
        elif task.attempts >= self.rules.max_attempts or outcome in HOPELESS:
            task.status = "failed"
        else:
            task.next_attempt_at = now + self.rules.retry_delay
        self._track(task)
        return task

    def pending(self) -> list[CallbackTask]:
        """The open tasks, oldest place first."""
        open_tasks = [t for t in self.tasks.values() if t.status == "pending"]
        return sorted(open_tasks, key=lambda t: (t.place, t.id))

    def pending_count(self, queue: str | None = None) -> int:
        """How many tasks are open, in `queue` or in all: kept, not counted."""
        return len(self._open) if queue is None else self._open_in.get(queue, 0)

    def _track(self, task: CallbackTask) -> None:
        """Keep the open counts in step with a task whose status may have changed."""
        counted = self._open.get(task.id)
        if task.status == "pending" and self.tasks.get(task.id) is task:
            if counted is None:
                self._open[task.id] = task.queue
                self._open_in[task.queue] = self._open_in.get(task.queue, 0) + 1
        elif counted is not None:
            del self._open[task.id]
            left = self._open_in[counted] - 1
            if left:
                self._open_in[counted] = left
            else:
                del self._open_in[counted]

    def forget_before(self, moment: float) -> None:
        """Drop finished tasks requested before `moment` (kept a day for the per-number limit)."""
        self._stale = True
        for task in [
            t for t in self.tasks.values() if t.status != "pending" and t.requested_at < moment
        ]:
            del self.tasks[task.id]
            self._track(task)

    def let_go(self, number_matches: Callable[[str], bool]) -> list[CallbackTask] | None:
        """Forget every task whose number matches (an erasure) and return them; None, and
        nothing forgotten, while one of them is being dialled."""
        tasks = [t for t in self.tasks.values() if number_matches(t.number)]
        if any(t.id in self.dialing for t in tasks):
            return None
        for task in tasks:
            del self.tasks[task.id]
            self._track(task)
        self._stale = True
        return tasks

    def _in_hours(self, now: float) -> bool:
        hours = self.rules.hours
        return hours is None or hours.is_open(datetime.fromtimestamp(now, UTC))


def clean_topic(topic: str) -> str:
    """A topic safe to show on a phone and write in a log: no control or format characters
    (CR, LF, NUL, C0, C1...), spaces folded, at most TOPIC_LIMIT characters."""
    return safe_name(topic)[:TOPIC_LIMIT].strip()


def topic_problem(topic: str) -> str | None:
    """Why the website's topic is refused (control characters, too long), if it is."""
    if len(topic) > TOPIC_LIMIT:
        return f"the topic may have at most {TOPIC_LIMIT} characters"
    if any(unicodedata.category(ch) in _UNSHOWABLE for ch in topic):
        return "the topic may not hold control characters (CR, LF, NUL, tabs...)"
    return None


# Control, format, surrogate, private and unassigned characters; line and paragraph breaks.
_UNSHOWABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


_FLOATS = ("requested_at", "place", "next_attempt_at")
_STATUSES: tuple[Status, ...] = get_args(Status)
_SOURCES: tuple[Source, ...] = get_args(Source)


def _unusable(task: CallbackTask) -> str | None:
    """Why a task from the store cannot be kept (wrong types, times out of the calendar)."""
    texts = (task.id, task.number, task.queue, task.topic, task.language, task.voicemail,
             task.reference)  # fmt: skip
    if not all(isinstance(text, str) for text in texts) or not task.id:
        return "unreadable"
    if task.status not in _STATUSES or task.source not in _SOURCES:
        return "unreadable"
    if not isinstance(task.attempts, int) or not isinstance(task.priority, int):
        return "unreadable"
    if not isinstance(task.history, list):
        return "unreadable"
    moments = [getattr(task, name) for name in _FLOATS]
    moments += [m for m in (task.not_before, task.not_after) if m is not None]
    for moment in moments:
        if isinstance(moment, bool) or not isinstance(moment, int | float):
            return "unreadable"
        if not math.isfinite(moment) or not 0 <= moment < LAST_MOMENT:
            return "invalid-time"
    return None
