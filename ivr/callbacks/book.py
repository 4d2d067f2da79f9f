"""The callback book: requests checked and limited, and which callbacks are due when (pure)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr.callbacks.task import CallbackTask, Source, valid_number
from ivr.schedule.schedule import Schedule

DAY = 86_400.0


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


@dataclass(frozen=True)
class Refusal:
    """Why a request was not taken: `reason` is a short code, `message` says it to a person."""

    reason: str
    message: str


class CallbackBook:
    """Every callback still to make, and the recent ones (for the per-number limit)."""

    def __init__(self, rules: CallbackRules, tasks: Iterable[CallbackTask] = ()) -> None:
        self.rules = rules
        self.tasks: dict[str, CallbackTask] = {task.id: task for task in tasks}
        self.dialing: set[str] = set()  # tasks whose attempt is under way
        # next_due is asked after every event: it is worked out again only after a change.
        self._next: float | None = None
        self._stale = True

    def open_task(self, number: str, queue: str) -> CallbackTask | None:
        """The pending task already booked for this number and queue, if any."""
        for task in self.tasks.values():
            if task.number == number and task.queue == queue and task.status == "pending":
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
        """A new task, the open one already booked for this number and queue, or a Refusal."""
        if not valid_number(number):
            return Refusal("invalid-number", "the number must be 6 to 15 digits, + allowed first")
        if not_after is not None and not_after <= max(now, not_before or now):
            return Refusal("invalid-window", "the time window is over before it begins")
        booked = self.open_task(number, queue)
        if booked is not None:
            if voicemail and not booked.voicemail:
                booked.voicemail = voicemail
            return booked
        if source in ("caller", "web"):
            recent = sum(
                1
                for task in self.tasks.values()
                if task.number == number
                and task.source in ("caller", "web")
                and task.requested_at > now - DAY
            )
            if recent >= self.rules.per_number_per_day:
                return Refusal(
                    "limit",
                    f"this number asked for {recent} callbacks in the last 24 hours; "
                    f"the limit is {self.rules.per_number_per_day}",
                )
        task = CallbackTask(
            id=uuid.uuid4().hex[:16],
            number=number,
            queue=queue,
            source=source,
            requested_at=now,
            place=place if place is not None else now,
            topic=topic,
            language=language,
            priority=priority,
            not_before=not_before,
            not_after=not_after,
            voicemail=voicemail,
            next_attempt_at=max(now, not_before or now),
        )
        self.tasks[task.id] = task
        self._stale = True
        return task

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
        if hours is not None and not self._in_hours(max(now, first)):
            opening = hours.next_opening(datetime.fromtimestamp(max(now, first), UTC))
            first = opening.timestamp() if opening is not None else math.inf
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
        elif task.attempts >= self.rules.max_attempts:
            task.status = "failed"
        else:
            task.next_attempt_at = now + self.rules.retry_delay
        return task

    def pending(self) -> list[CallbackTask]:
        """The open tasks, oldest place first."""
        open_tasks = [t for t in self.tasks.values() if t.status == "pending"]
        return sorted(open_tasks, key=lambda t: (t.place, t.id))

    def forget_before(self, moment: float) -> None:
        """Drop finished tasks requested before `moment` (kept a day for the per-number limit)."""
        self._stale = True
        for task_id in [
            t.id for t in self.tasks.values() if t.status != "pending" and t.requested_at < moment
        ]:
            del self.tasks[task_id]

    def _in_hours(self, now: float) -> bool:
        hours = self.rules.hours
        return hours is None or hours.is_open(datetime.fromtimestamp(now, UTC))
