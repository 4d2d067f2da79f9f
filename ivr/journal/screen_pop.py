"""The screen pop: when an agent answers, who is calling and why, posted to a webhook and kept
for the API, so nobody has to repeat themselves to the agent."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.webhook import Webhook

# Earlier calls kept per number for the pop's `previous`, and how many numbers are kept: the
# oldest number seen is let go first, so memory stays bounded whatever the traffic.
PREVIOUS_CALLS = 5
NUMBERS_KEPT = 20_000


@dataclass(slots=True)
class _Earlier:
    """One call from a number as the pop shows it afterwards."""

    call: str
    at: float
    topic: str = ""
    outcome: str = ""
    disposition: str = ""

    def shown(self) -> dict[str, Any]:
        return {"call": self.call, "at": self.at, "topic": self.topic, "outcome": self.outcome,
                "disposition": self.disposition}  # fmt: skip


class ScreenPops:
    """A journal sink: builds a pop per answered call, posts it, keeps the latest per agent."""

    def __init__(self, url: str | None = None, timeout: float = 3.0) -> None:
        self.url = url
        self.timeout = timeout
        self.latest: dict[str, dict[str, Any]] = {}
        # Calls per number on the current (UTC) day only: a new day starts the count afresh,
        # so memory holds one day's callers, not every number ever seen.
        self._day = -1  # the UTC day (days since 1970) counted
        self._calls_today: dict[str, int] = {}
        self._hook = Webhook(url, "screen_pop", timeout) if url else None
        # Calls by number (newest last) and the call in progress by id, for `previous`.
        self._history: OrderedDict[str, list[_Earlier]] = OrderedDict()
        self._open: dict[str, _Earlier] = {}

    def record(self, note: Note, at: float) -> None:
        if note.kind == NoteKind.ARRIVED:
            number = note.fields.get("caller_number", "")
            if number:
                self._roll_day(at)
                self._calls_today[number] = self._calls_today.get(number, 0) + 1
                self._remember(number, _Earlier(note.call_id, at))
        elif note.kind in (NoteKind.ANSWERED, NoteKind.AGENT_TRANSFER_ANSWERED):
            pop = self._pop(note, at)
            self.latest[pop["agent"]] = pop
            if self._hook is not None:
                self._hook.send(pop, note.call_id)
        elif note.kind == NoteKind.TAG and note.call_id in self._open:
            self._open[note.call_id].topic = note.fields.get("tag", "")
        elif note.kind == NoteKind.ENDED and note.call_id in self._open:
            self._open.pop(note.call_id).outcome = note.fields.get("outcome", "")
        elif note.kind == NoteKind.DISPOSITION:
            self._dispose(note.call_id, note.fields.get("disposition", ""))

    def previous(self, number: str, call_id: str) -> list[dict[str, Any]]:
        """Earlier calls from `number` (not `call_id`), newest first: time, topic, outcome,
        disposition; since the daemon started, at most PREVIOUS_CALLS."""
        earlier = self._history.get(number, [])
        return [e.shown() for e in reversed(earlier) if e.call != call_id][:PREVIOUS_CALLS]

    def _remember(self, number: str, call: _Earlier) -> None:
        calls = self._history.pop(number, [])
        calls.append(call)
        self._history[number] = calls[-(PREVIOUS_CALLS + 1) :]
        self._open[call.call] = call
        while len(self._history) > NUMBERS_KEPT:
            for gone in self._history.popitem(last=False)[1]:
                self._open.pop(gone.call, None)

    def _dispose(self, call_id: str, disposition: str) -> None:
        for pop in self.latest.values():
            if pop["call"] == call_id:
                pop["disposition"] = disposition
                for earlier in self._history.get(pop["caller_number"], []):
                    if earlier.call == call_id:
                        earlier.disposition = disposition

    def _roll_day(self, at: float) -> None:
        day = int(at // 86_400)  # UTC days have 86,400 s: no leap seconds in POSIX time
        if day != self._day:
            self._day = day
            self._calls_today.clear()

    def _pop(self, note: Note, at: float) -> dict[str, Any]:
        fields = note.fields
        number = fields.get("caller_number", "")
        self._roll_day(at)
        today = self._calls_today.get(number, 1)
        return {
            "call": note.call_id,
            "agent": fields.get("agent", ""),
            "queue": fields.get("queue", ""),
            "topic": fields.get("topic", ""),
            "language": fields.get("language", ""),
            "caller_number": number,
            "wait_seconds": float(fields.get("wait", "0")),
            "variables": {k[4:]: v for k, v in fields.items() if k.startswith("var_")},
            "previous_calls_today": max(0, today - 1),
            "previous": self.previous(number, note.call_id),
            # A transferred call: who passed it on, and the note they wrote for the next agent.
            "transferred_by": fields.get("transferred_by", ""),
            "note": fields.get("note", ""),
            "disposition": "",
        }

    async def close(self) -> None:
        """Wait briefly for posts in flight, then close the HTTP session."""
        if self._hook is not None:
            await self._hook.close()
