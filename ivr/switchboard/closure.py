"""A closed line: ops close it at once (an emergency, above every schedule) and open it again.

While a plan's line is closed, every call arriving on it hears the chosen message (a named
prompt the plan declares, or the built-in one: ivr/plan/emergency.py), then meets the plan's
`emergency: next:` node, else the goodbye and a hang-up: never silence, never a dead end.
Calls already in the plan (in a menu, waiting in a queue, talking) go on as they were.

A closure is kept in the live store (kind `line`, one record per plan, `*` for every plan),
so a restart or a standby taking over finds the line as ops left it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ivr.calls import hangup
from ivr.calls.call import Call
from ivr.calls.commands import Command, Note, SaveState
from ivr.calls.events import CallEvent, PromptFinished
from ivr.calls.step import Step
from ivr.plan.emergency import DEFAULT_MESSAGE, message_items, messages_of
from ivr.plan.plan import PlanBook

LINE = "line"  # the live store's kind for closures
ALL = "*"  # the key of a closure of every plan
VERSION = 1
TEXT_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Closure:
    """Why and by whom a line was closed, since when, and the message callers hear."""

    message: str
    reason: str
    by: str
    since: float

    def record(self) -> dict[str, Any]:
        """The closure as the live store keeps it."""
        return {"v": VERSION, "message": self.message, "reason": self.reason, "by": self.by,
                "since": self.since}  # fmt: skip

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Closure | None:
        """The closure of a stored record; None for a layout this daemon does not know."""
        if record.get("v") != VERSION:
            return None
        return cls(
            str(record.get("message") or DEFAULT_MESSAGE),
            str(record.get("reason", "")),
            str(record.get("by", "")),
            float(record.get("since", 0.0)),
        )


@dataclass
class EmergencyMessage:
    """A call's step while it hears the message of a closed line; `target` comes next."""

    target: str


class LineClosures:
    """Which plans' lines are closed now: by plan name, or `*` for all of them."""

    def __init__(self) -> None:
        self.closed: dict[str, Closure] = {}

    def closed_for(self, plan: str) -> Closure | None:
        """The closure a call arriving on `plan` meets, if any (the plan's own first)."""
        return self.closed.get(plan) or self.closed.get(ALL)

    def restore(self, records: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """The closures a restart found in the store; the keys of records it could not read."""
        refused = []
        self.closed = {}
        for key, record in records.items():
            closure = Closure.from_record(record)
            if closure is None:
                refused.append(key)
            else:
                self.closed[key] = closure
        return refused

    def close(
        self, book: PlanBook, closure: Closure, plans: Iterable[str] = ()
    ) -> tuple[str, list[Command]]:
        """Close `plans` (all when none is named): ("", commands) or (why not, [])."""
        names = list(dict.fromkeys(plans))
        known = {plan.name: plan for plan in book.plans}
        unknown = [name for name in names if name not in known]
        if unknown:
            return f"no plan called {', '.join(unknown)}; plans: {', '.join(known)}", []
        lacking = [
            name
            for name in names or known
            if closure.message not in messages_of(known[name].spec.emergency)
        ]
        if lacking:
            return (
                f"message '{closure.message}' is not declared by plan {', '.join(lacking)}; "
                f"list it under emergency: messages: (and prompts:), or use '{DEFAULT_MESSAGE}'"
            ), []
        commands: list[Command] = []
        for key in names or [ALL]:
            self.closed[key] = closure
            fields = {"plan": key, "message": closure.message, "reason": closure.reason,
                      "by": closure.by}  # fmt: skip
            commands += [Note("", "line_closed", fields), SaveState(LINE, key, closure.record())]
        return "", commands

    def open(self, by: str, reason: str, plans: Iterable[str] = ()) -> tuple[str, list[Command]]:
        """Open `plans` again (every closure when none is named): ("", commands) or (why not,
        []); opening a line that is not closed is no change."""
        names = list(dict.fromkeys(plans))
        if names and ALL in self.closed:
            return "the line is closed for every plan: open it for all (name no plan)", []
        commands: list[Command] = []
        for key in names or list(self.closed):
            if self.closed.pop(key, None) is not None:
                fields = {"plan": key, "by": by, "reason": reason}
                commands += [Note("", "line_opened", fields), SaveState(LINE, key, None)]
        return "", commands

    def status(self, book: PlanBook) -> dict[str, Any]:
        """Each plan of the book: closed or not, and by which closure; the messages it offers."""
        plans = {}
        for plan in book.plans:
            closure = self.closed_for(plan.name)
            entry: dict[str, Any] = {
                "closed": closure is not None,
                "messages": messages_of(plan.spec.emergency),
                "emergency_node": plan.spec.emergency.next if plan.spec.emergency else None,
            }
            if closure is not None:
                entry.update(closure.record())
                entry.pop("v")
                entry["all_plans"] = plan.name not in self.closed
            plans[plan.name] = entry
        return {"closed": any(p["closed"] for p in plans.values()), "plans": plans}


def meet(call: Call, closure: Closure) -> Step:
    """A call arriving on a closed line: the message, then the plan's emergency node or the
    goodbye and a hang-up."""
    spec = call.plan.spec
    # A message the plan has lost since (a reload) falls back to the default one.
    items = message_items(spec.prompts, closure.message) or message_items(
        spec.prompts, DEFAULT_MESSAGE
    )
    target = spec.emergency.next if spec.emergency is not None else None
    note = call.note("emergency", plan=call.plan.name, message=closure.message,
                     target=target or "goodbye")  # fmt: skip
    if target is None:
        goodbye = hangup.say_goodbye(call, [*items, *spec.goodbye], "closed")
        return Step([note, *goodbye.commands])
    # Kept as the call's node: a restart during the message takes the caller on to it.
    call.node = target
    call.step = EmergencyMessage(target)
    return Step([note, *call.play(items)])


def handle(call: Call, step: EmergencyMessage, event: CallEvent) -> Step:
    """On to the emergency node once the message is over; keys are no choice here."""
    if isinstance(event, PromptFinished) and event.playback_id == call.playback:
        call.playback = None
        return Step(goto=step.target)
    return Step()
