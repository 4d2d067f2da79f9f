"""The call journal: every note the core makes, fanned out to the log, metrics and listeners."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ivr.calls.commands import Note
from ivr.calls.ports import NoteSink
from ivr.logs import log_fields

log = logging.getLogger("ivr.call")


class NoteFanout:
    """Hands each note to every sink; a failing sink never stops the others or the call."""

    def __init__(self, sinks: Sequence[NoteSink]) -> None:
        self.sinks = list(sinks)

    def record(self, note: Note, at: float) -> None:
        for sink in self.sinks:
            try:
                sink.record(note, at)
            except Exception:
                log.exception("journal.sink_failed", extra={"fields": {"call": note.call_id}})


class LogSink:
    """One log line per note, with the Asterisk channel id as `call` (`desk.*` for agents)."""

    def __init__(self) -> None:
        self.events: dict[str, str] = {}  # "call.<kind>" for each kind met, made once

    def record(self, note: Note, at: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        if not note.call_id:
            # Notes about agents rather than a call (API requests, the routing desk).
            log_fields(log, f"desk.{note.kind}", dict(note.fields))
            return
        name = self.events.get(note.kind)
        if name is None:
            name = self.events[note.kind] = f"call.{note.kind}"
        fields: dict[str, object] = {"call": note.call_id}
        fields.update(note.fields)
        log_fields(log, name, fields)
