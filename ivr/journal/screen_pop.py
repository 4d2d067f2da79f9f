"""The screen pop: when an agent answers, who is calling and why, posted to a webhook and kept
for the API, so nobody has to repeat themselves to the agent."""

from __future__ import annotations

import time
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
        self._calls_today: dict[tuple[str, str], int] = {}
        self._hook = Webhook(url, "screen_pop", timeout) if url else None

    def record(self, note: Note, at: float) -> None:
        if note.kind == NoteKind.ARRIVED:
            number = note.fields.get("caller_number", "")
            if number:
                key = (number, time.strftime("%Y-%m-%d", time.gmtime(at)))
                self._calls_today[key] = self._calls_today.get(key, 0) + 1
        elif note.kind == NoteKind.ANSWERED:
            pop = self._pop(note, at)
            self.latest[pop["agent"]] = pop
            if self._hook is not None:
                self._hook.send(pop, note.call_id)

    def _pop(self, note: Note, at: float) -> dict[str, Any]:
        fields = note.fields
        number = fields.get("caller_number", "")
        today = self._calls_today.get((number, time.strftime("%Y-%m-%d", time.gmtime(at))), 1)
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
