"""The screen pop: when an agent answers, who is calling and why, posted to a webhook and kept
for the API, so nobody has to repeat themselves to the agent."""

from __future__ import annotations

from typing import Any

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.webhook import Webhook


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

    def record(self, note: Note, at: float) -> None:
        if note.kind == NoteKind.ARRIVED:
            number = note.fields.get("caller_number", "")
            if number:
                self._roll_day(at)
                self._calls_today[number] = self._calls_today.get(number, 0) + 1
        elif note.kind == NoteKind.ANSWERED:
            pop = self._pop(note, at)
            self.latest[pop["agent"]] = pop
            if self._hook is not None:
                self._hook.send(pop, note.call_id)

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
        }

    async def close(self) -> None:
        """Wait briefly for posts in flight, then close the HTTP session."""
        if self._hook is not None:
            await self._hook.close()
