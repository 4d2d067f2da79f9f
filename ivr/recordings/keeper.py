"""The recording keeper: follows a recorded call's notes and, once it ends, copies the audio out
of Asterisk into the recordings folder with a sidecar saying whose call it was."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from ivr.calls.commands import Note
from ivr.calls.notes import RECORDING_KINDS, NoteKind
from ivr.logs import event
from ivr.recordings.fetch import fetch_patiently
from ivr.recordings.files import path_for, read_sidecar, write_sidecar

log = logging.getLogger("ivr.recordings")

Fetch = Callable[[str, Path], Awaitable[int]]
DEFAULT_RETENTION_DAYS = 90
ANSWERED = ("queue", "agent", "topic", "caller_number")  # what an "answered" note tells us
MAX_CALLS = 10_000  # calls remembered at once; a call whose end never comes can't leak memory


@dataclass
class _Call:
    """What the notes said so far about one call."""

    call_id: str
    context: dict[str, str] = field(default_factory=dict)
    name: str = ""
    started: datetime | None = None
    finished: datetime | None = None
    paused_at: datetime | None = None
    pauses: list[tuple[datetime, datetime]] = field(default_factory=list)
    retention_days: int = DEFAULT_RETENTION_DAYS
    survey: dict[str, int] = field(default_factory=dict)
    agents: list[str] = field(default_factory=list)  # every agent the call passed through

    def sidecar(self) -> dict[str, Any]:
        """The sidecar of a finished recording."""
        assert self.started is not None and self.finished is not None
        start, end = self.started, self.finished

        def offset(moment: datetime) -> float:
            return round((moment - start).total_seconds(), 3)

        pauses = [
            {
                "start": offset(a),
                "end": offset(b),
                "seconds": round((b - a).total_seconds(), 3),
                "start_at": a.isoformat(),
                "end_at": b.isoformat(),
            }
            for a, b in self.pauses
        ]
        return {
            "call_id": self.call_id,
            "recording": self.name,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "duration_seconds": offset(end),
            "paused_seconds": round(sum((b - a).total_seconds() for a, b in self.pauses), 3),
            "queue": self.context.get("queue", ""),
            "team": self.context.get("team", ""),
            "agent": self.context.get("agent", ""),
            "agents": list(self.agents),
            "topic": self.context.get("topic", ""),
            "caller_number": self.context.get("caller_number", ""),
            "pauses": pauses,
            "retention_days": self.retention_days,
            "survey": dict(self.survey),
        }


class RecordingKeeper:
    """A journal sink: when a recorded call ends, fetch its audio and write its sidecar."""

    def __init__(
        self,
        folder: Path,
        fetch: Fetch,
        tz: tzinfo = UTC,
        retry_delays: Sequence[float] = (2.0, 10.0),
    ) -> None:
        self.folder = folder
        self.fetch = fetch
        self.tz = tz
        self.retry_delays = tuple(retry_delays)
        self._calls: dict[str, _Call] = {}
        self._fetching: dict[str, _Call] = {}
        self._kept: dict[str, Path] = {}  # sidecars written, for survey answers that come late
        self._tasks: set[asyncio.Task[None]] = set()

    def record(self, note: Note, at: float) -> None:
        when = datetime.fromtimestamp(at, self.tz)  # `at` is the clock's Unix time
        fields = note.fields
        if note.kind == NoteKind.ENDED:
            self._ended(note.call_id, when)
        elif note.kind == NoteKind.SURVEY_ANSWER:
            self._survey(note.call_id, fields)
        elif note.kind == NoteKind.ANSWERED:
            call = self._call(note.call_id)
            call.context.update({k: v for k, v in fields.items() if k in ANSWERED})
            call.agents.append(fields.get("agent", ""))
        elif note.kind == NoteKind.AGENT_TRANSFER_DONE:
            # The one recording of a transferred call hears every agent; the last is `agent`.
            call = self._call(note.call_id)
            call.context["agent"] = fields.get("to", "")
            call.agents.append(fields.get("to", ""))
        elif note.kind in RECORDING_KINDS:
            self._recording(self._call(note.call_id), note.kind, fields, when)

    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call(call_id)
            while len(self._calls) > MAX_CALLS:
                del self._calls[next(iter(self._calls))]
        return call

    def _recording(self, call: _Call, kind: str, fields: dict[str, str], when: datetime) -> None:
        if kind == NoteKind.RECORDING_STARTED:
            if call.started is not None:
                event(log, "recording.second_ignored", logging.WARNING, call=call.call_id,
                      name=fields.get("name", ""))  # fmt: skip
                return
            call.name = fields.get("name", "")
            call.started = when
            call.context.update({k: fields[k] for k in ("queue", "agent", "team") if fields.get(k)})
            try:
                call.retention_days = max(1, int(fields.get("retention_days", "")))
            except ValueError:
                call.retention_days = DEFAULT_RETENTION_DAYS
        elif call.started is None:
            return  # pauses and ends of a recording we never saw start
        elif kind == NoteKind.RECORDING_PAUSED and call.paused_at is None:
            call.paused_at = when
        elif kind == NoteKind.RECORDING_RESUMED and call.paused_at is not None:
            call.pauses.append((call.paused_at, when))
            call.paused_at = None
        elif kind == NoteKind.RECORDING_FINISHED and call.finished is None:
            self._finish(call, when)

    @staticmethod
    def _finish(call: _Call, when: datetime) -> None:
        call.finished = when
        if call.paused_at is not None:
            call.pauses.append((call.paused_at, when))
            call.paused_at = None

    def _survey(self, call_id: str, fields: dict[str, str]) -> None:
        kind = fields.get("kind", "")
        try:
            score = int(fields.get("score", ""))
        except ValueError:
            return
        if not kind:
            return
        call = self._calls.get(call_id) or self._fetching.get(call_id)
        if call is not None:
            call.survey[kind] = score
        elif call_id in self._kept:
            self._update_sidecar(call_id, self._kept[call_id], kind, score)

    def _update_sidecar(self, call_id: str, wav: Path, kind: str, score: int) -> None:
        try:
            sidecar = read_sidecar(wav)
            survey = sidecar.get("survey")
            sidecar["survey"] = {**(survey if isinstance(survey, dict) else {}), kind: score}
            write_sidecar(wav, sidecar)
        except (OSError, ValueError) as exc:
            event(log, "recording.survey_not_kept", logging.WARNING, call=call_id,
                  error=type(exc).__name__)  # fmt: skip

    def _ended(self, call_id: str, when: datetime) -> None:
        call = self._calls.pop(call_id, None)
        if call is None or call.started is None:
            return
        if call.finished is None:
            self._finish(call, when)  # the caller hung up before the recording said it finished
        self._fetching[call_id] = call
        task = asyncio.get_running_loop().create_task(self._keep(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep(self, call: _Call) -> None:
        try:
            await self._fetch_and_write(call)
        finally:
            self._fetching.pop(call.call_id, None)

    async def _fetch_and_write(self, call: _Call) -> None:
        assert call.started is not None
        try:
            wav = path_for(self.folder, call.call_id, call.started)
        except ValueError:
            event(log, "recording.unsafe_call_id", logging.ERROR, call=call.call_id)
            return
        size, error = await fetch_patiently(self.fetch, call.name, wav, self.retry_delays)
        if size is None:
            # Asterisk still holds its copy in its spool; the log names it.
            event(log, "recording.fetch_failed", logging.ERROR, call=call.call_id,
                  name=call.name, error=error)  # fmt: skip
            return
        # No await between reading the call and writing: a survey answer can't slip between.
        write_sidecar(wav, call.sidecar())
        self._kept[call.call_id] = wav
        while len(self._kept) > MAX_CALLS:
            del self._kept[next(iter(self._kept))]
        event(log, "recording.kept", call=call.call_id, path=str(wav), bytes=size)

    async def close(self, timeout: float | None = None) -> None:
        """Wait for fetches in flight (up to `timeout` seconds when given)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
