"""Today's figures for the wallboard: per queue answered, answered within its SLA and
abandoned, and the day's CSAT and NPS; a journal sink counting as the notes go by, seeded at
start with the day so far from the journal (a restart mid-day does not zero the wallboard)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.store.port import Entry

COUNTED = frozenset({NoteKind.ANSWERED, NoteKind.QUEUE_ABANDONED, NoteKind.SURVEY_ANSWER})


@dataclass(slots=True)
class QueueDay:
    """One queue's day so far."""

    answered: int = 0
    answered_in_sla: int = 0
    abandoned: int = 0

    def view(self) -> dict[str, Any]:
        """JSON-ready; service level is answered within the SLA over answered and abandoned."""
        offered = self.answered + self.abandoned
        level = round(100 * self.answered_in_sla / offered, 1) if offered else None
        return {"answered": self.answered, "answered_in_sla": self.answered_in_sla,
                "abandoned": self.abandoned, "service_level": level}  # fmt: skip


@dataclass(slots=True)
class SurveyDay:
    """The day's survey answers: CSAT (1-5) and NPS (0-10)."""

    csat_sum: int = 0
    csat_count: int = 0
    promoters: int = 0  # 9-10
    detractors: int = 0  # 0-6
    nps_count: int = 0

    def view(self) -> dict[str, Any]:
        """Mean CSAT and NPS (promoters minus detractors, in %), None without answers."""
        csat = round(self.csat_sum / self.csat_count, 2) if self.csat_count else None
        nps = (
            round(100 * (self.promoters - self.detractors) / self.nps_count)
            if self.nps_count
            else None
        )
        return {"csat": csat, "csat_answers": self.csat_count, "nps": nps,
                "nps_answers": self.nps_count}  # fmt: skip


@dataclass
class DayFigures:
    """A note sink: today's counts in the site's time zone, started afresh at midnight."""

    tz: ZoneInfo
    queues: dict[str, QueueDay] = field(default_factory=dict)
    survey: SurveyDay = field(default_factory=SurveyDay)
    _day: str = ""
    _day_ends: float = 0.0  # the moment the day counted ends: one compare per note

    def record(self, note: Note, at: float) -> None:
        if note.kind in COUNTED:
            self._count(note.kind, note.fields, at)

    def _count(self, kind: str, fields: dict[str, str], at: float) -> None:
        self.roll(at)
        if kind == NoteKind.SURVEY_ANSWER:
            self._survey(fields.get("kind", ""), fields.get("score", ""))
            return
        day = self.queues.get(fields.get("queue", ""))
        if day is None:
            day = self.queues[fields.get("queue", "")] = QueueDay()
        if kind == NoteKind.QUEUE_ABANDONED:
            day.abandoned += 1
            return
        day.answered += 1
        try:
            if float(fields.get("wait", "0")) <= float(fields.get("sla", "0")):
                day.answered_in_sla += 1
        except ValueError:
            pass

    def day_start(self, at: float) -> float:
        """The midnight that began the day of `at`, in the site's time zone."""
        moment = datetime.fromtimestamp(at, self.tz)
        return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def seed(self, entries: Iterable[Entry], until: float) -> int:
        """Count the journal's notes of today before `until` (the moment this daemon began
        counting: the notes after it are counted as they go by); how many counted."""
        self.roll(until)
        if datetime.fromtimestamp(until, self.tz).date().isoformat() != self._day:
            return 0  # counting has moved on to the next day meanwhile
        start = self.day_start(until)
        seeded = 0
        for entry in entries:
            if start <= entry.at < until and entry.kind in COUNTED:
                self._count(entry.kind, entry.fields, entry.at)
                seeded += 1
        return seeded

    def _survey(self, kind: str, score: str) -> None:
        if not score.isdigit():
            return
        value = int(score)
        survey = self.survey
        if kind == "csat":
            survey.csat_sum += value
            survey.csat_count += 1
        elif kind == "nps":
            survey.nps_count += 1
            survey.promoters += value >= 9
            survey.detractors += value <= 6

    def roll(self, at: float) -> None:
        """Start a new day's counts once `at` is past the day counted."""
        if at < self._day_ends:
            return
        moment = datetime.fromtimestamp(at, self.tz)
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        day = midnight.date().isoformat()
        if day != self._day:
            self._day = day
            self.queues.clear()
            self.survey = SurveyDay()
        # The next midnight, through the calendar: a DST day has 23 or 25 hours.
        next_day = midnight.date().toordinal() + 1
        following = datetime.fromordinal(next_day).replace(tzinfo=self.tz)
        self._day_ends = following.timestamp()

    def view(self, now: float) -> dict[str, Any]:
        """Today's figures, JSON-ready: `queues` by name and `survey`."""
        self.roll(now)
        return {
            "day": self._day,
            "queues": {name: day.view() for name, day in self.queues.items()},
            "survey": self.survey.view(),
        }


def counted(entries: Iterable[Entry]) -> list[Entry]:
    """The notes today's figures count, their fields read (in the store's thread, which reads
    the day's journal: the event loop then only adds them up)."""
    kept = []
    for entry in entries:
        if entry.kind in COUNTED:
            _ = entry.fields
            kept.append(entry)
    return kept
