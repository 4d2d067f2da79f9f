"""The callbacks the core is making: due tasks put in their queue's line (keeping the caller's
place), each attempt followed until it ends, and every outcome saved at once."""

from __future__ import annotations

from ivr.callbacks import dialer, node
from ivr.callbacks.book import DAY, CallbackBook, Refusal
from ivr.callbacks.task import CallbackTask
from ivr.calls.commands import Command, Note, Release, SaveCallback
from ivr.calls.events import CallEvent
from ivr.routing.results import Offer, RoutingError
from ivr.routing.router import Router


class Callbacks:
    """The book of callbacks, and the attempts under way (router call id -> Dial)."""

    def __init__(self, book: CallbackBook) -> None:
        self.book = book
        self.dials: dict[str, dialer.Dial] = {}

    def due(self, router: Router, now: float, dialling: bool = True) -> list[Command]:
        """Expire tasks whose window closed; put the due ones in line (unless not `dialling`)."""
        if not self.book.has_work(now):
            return []
        # Finished tasks are kept a day, for the per-number limit; then let go.
        self.book.forget_before(now - DAY)
        commands: list[Command] = []
        for task in self.book.expired(now):
            commands += _finished("", task, "expired")
        if not dialling:
            return commands
        rules = self.book.rules
        for task in self.book.due(now):
            dial_id = f"cb-{task.id}-{task.attempts + 1}"
            try:
                router.enqueue(dial_id, task.queue, now, task.priority, since=task.place)
            except RoutingError as exc:
                # The queue is gone from the plans: the task cannot be served as it stands.
                self.book.attempt(task, now, "no-queue")  # hopeless: the book fails the task
                commands += _finished("", task, "failed", str(exc))
                continue
            self.book.dialling(task)
            endpoint = rules.dial.format(number=task.number)
            self.dials[dial_id] = dialer.Dial(
                dial_id, task, endpoint, rules.caller_id, rules.ring_seconds
            )
            fields = {"task": task.id, "queue": task.queue, "attempt": str(task.attempts + 1)}
            commands.append(Note(dial_id, "callback_queued", fields))
        return commands

    def ring(self, offer: Offer) -> list[Command]:
        """Ring the agents the router offers an attempt to."""
        dial = self.dials.get(offer.call_id)
        return dialer.ring(dial, offer) if dial is not None else []

    def handle(self, router: Router, event: CallEvent, now: float) -> list[Command]:
        """A leg of an attempt answered or ended; the outcome is saved the moment it is known."""
        dial = self.dials[event.call_id]
        commands = dialer.handle(dial, router, event, now)
        task = dial.task
        if dial.outcome == "connected" and not dial.saved:
            # Saved the moment they are connected: a restart can never call them twice.
            dial.saved = True
            self.book.attempt(task, now, "connected")
            commands += _finished(dial.call_id, task, "completed")
        if dial.finished:
            del self.dials[dial.call_id]
            if not dial.saved:
                self.book.attempt(task, now, dial.outcome)
                outcome = "failed" if task.status == "failed" else "retry"
                commands += _finished(dial.call_id, task, outcome, dial.outcome)
            commands.append(Release(dial.call_id))
        return commands

    def cancel_all(self, router: Router, now: float) -> list[Command]:
        """Drop every attempt under way (shutdown); their tasks stay pending for the next start."""
        commands: list[Command] = []
        for dial in self.dials.values():
            commands += dialer.cancel(dial, router, now)
        self.dials.clear()
        return commands

    def request(
        self,
        queues: set[str],
        number: str,
        queue: str,
        topic: str,
        window: tuple[float | None, float | None],
        now: float,
    ) -> tuple[CallbackTask | Refusal, list[Command]]:
        """A callback asked for from outside a call (the shop's website)."""
        if queue not in queues:
            return Refusal("unknown-queue", f"there is no queue '{queue}'"), []
        booked_before = self.book.open_task(number, queue)
        task = self.book.request(
            number, queue, "web", now, topic=topic, not_before=window[0], not_after=window[1]
        )
        if isinstance(task, Refusal):
            return task, [Note("", "callback_refused", {"queue": queue, "reason": task.reason})]
        if task is booked_before:
            return task, [Note("", "callback_again", {"task": task.id, "queue": queue})]
        return task, node.booked_notes("", task)


def _finished(call_id: str, task: CallbackTask, outcome: str, why: str = "") -> list[Command]:
    fields = {"task": task.id, "queue": task.queue, "outcome": outcome}
    if why:
        fields["why"] = why
    return [Note(call_id, "callback_finished", fields), SaveCallback(task.to_json())]
