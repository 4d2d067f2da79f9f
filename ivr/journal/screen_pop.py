"""The screen pop: when an agent answers, who is calling and why, posted to a webhook and kept
for the API, so nobody has to repeat themselves to the agent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.webhook import Webhook
from ivr.logs import event
from ivr.store.history import CallerHistory, has_history

log = logging.getLogger("ivr.journal.screen_pop")


class History(Protocol):
    """Where a pop's `previous` comes from: the journal in the store (caller_history.py)."""

    async def earlier(self, number: str, call_id: str, now: float) -> CallerHistory:
        """The number's earlier calls, `call_id` left out, and how many it made today."""
        ...


class ScreenPops:
    """A journal sink: builds a pop per answered call, posts it, keeps the latest per agent.

    Nothing is kept per number: `previous` (earlier calls from the number: time, topic,
    outcome, disposition) and `previous_calls_today` are read from the journal when the
    agent answers, off the event loop; the pop is posted once they are in (or the read
    failed), and the page hears of them through `on_change`."""

    def __init__(
        self, url: str | None = None, timeout: float = 3.0, history: History | None = None
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.latest: dict[str, dict[str, Any]] = {}
        self.on_change: Callable[[], None] | None = None  # the live page's hook, while watched
        self._history = history
        self._hook = Webhook(url, "screen_pop", timeout) if url else None
        self._filling: set[asyncio.Task[None]] = set()

    def record(self, note: Note, at: float) -> None:
        if note.kind in (NoteKind.ANSWERED, NoteKind.AGENT_TRANSFER_ANSWERED):
            pop = self._pop(note, at)
            self.latest[pop["agent"]] = pop
            if self._history is not None and has_history(pop["caller_number"]):
                task = asyncio.get_running_loop().create_task(self._fill(pop, at))
                self._filling.add(task)
                task.add_done_callback(self._filling.discard)
            elif self._hook is not None:
                self._hook.send(pop, note.call_id)
        elif note.kind == NoteKind.DISPOSITION:
            self._dispose(note.call_id, note.fields.get("disposition", ""))

    async def _fill(self, pop: dict[str, Any], at: float) -> None:
        """Add the caller's earlier calls to `pop`, then post it."""
        assert self._history is not None
        try:
            found = await self._history.earlier(pop["caller_number"], pop["call"], at)
        except Exception as exc:  # the store slow or down: the pop goes without them
            why = "the store did not answer in time; the pop shows no earlier calls"
            event(log, "screen_pop.history_failed", logging.WARNING, call=pop["call"],
                  error=f"{type(exc).__name__}: {exc}"[:200], why=why)  # fmt: skip
        else:
            pop["previous"] = [call.shown() for call in found.calls]
            pop["previous_calls_today"] = found.today
            if self.on_change is not None:
                self.on_change()
        if self._hook is not None:
            self._hook.send(pop, pop["call"])

    async def settled(self) -> None:
        """Wait until every pop being filled is (for tests and a clean stop)."""
        while self._filling:
            await asyncio.gather(*self._filling, return_exceptions=True)

    def _dispose(self, call_id: str, disposition: str) -> None:
        for pop in self.latest.values():
            if pop["call"] == call_id:
                pop["disposition"] = disposition

    def _pop(self, note: Note, at: float) -> dict[str, Any]:
        fields = note.fields
        number = fields.get("caller_number", "")
        return {
            "call": note.call_id,
            "agent": fields.get("agent", ""),
            "queue": fields.get("queue", ""),
            "topic": fields.get("topic", ""),
            "language": fields.get("language", ""),
            "caller_number": number,
            "wait_seconds": float(fields.get("wait", "0")),
            "variables": {k[4:]: v for k, v in fields.items() if k.startswith("var_")},
            # Filled from the journal once it answers (_fill).
            "previous_calls_today": 0,
            "previous": [],
            # A transferred call: who passed it on, and the note they wrote for the next agent.
            "transferred_by": fields.get("transferred_by", ""),
            "note": fields.get("note", ""),
            "disposition": "",
        }

    async def close(self) -> None:
        """Wait briefly for pops being filled and posts in flight, then close the HTTP session."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settled(), self.timeout)
        if self._hook is not None:
            await self._hook.close()
