"""A compiled schedule: whether the line is open at a moment, and when it next opens or closes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ivr.schedule.holidays import holiday_dates
from ivr.schedule.hours import DAY_NAMES, TimeRange
from ivr.schedule.spec import ScheduleSpec
from ivr.schedule.wallclock import to_utc, wall_to_utc

SEARCH_DAYS = 400
"""How far ahead next_opening/next_closing look before answering None."""

ScheduleState = Literal["open", "closed", "holiday"]
Interval = tuple[datetime, datetime]

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """A compiled schedule: answers whether the line is open at a moment, and when it changes."""

    name: str
    zone: ZoneInfo
    weekly: tuple[tuple[TimeRange, ...], ...]  # seven entries, Monday first
    closed: frozenset[date] = frozenset()
    exceptions: Mapping[date, tuple[TimeRange, ...]] = field(default_factory=dict, hash=False)
    holiday_country: str | None = "RU"
    holiday_subdivision: str | None = None
    # Built lazily, one year at a time, and private to this instance: no global cache to
    # go stale on hot reload, and a schedule nobody asks about in 2031 never builds 2031.
    _holiday_years: dict[int, frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def from_spec(cls, name: str, spec: ScheduleSpec) -> Schedule:
        """Compile a validated spec."""
        weekly: list[list[TimeRange]] = [[] for _ in DAY_NAMES]
        for (_, days), ranges in spec.weekly.items():
            for day in days:
                weekly[day].extend(ranges)
        return cls(
            name=name,
            zone=ZoneInfo(spec.timezone),
            weekly=tuple(tuple(sorted(ranges)) for ranges in weekly),
            closed=frozenset(spec.closed),
            exceptions=dict(spec.exceptions),
            holiday_country=spec.holidays.country if spec.holidays else None,
            holiday_subdivision=spec.holidays.subdivision if spec.holidays else None,
        )

    def is_open(self, at: datetime) -> bool:
        """True when the line is open at `at`."""
        moment = to_utc(at)
        day = moment.astimezone(self.zone).date()
        # Two days back catches last night's shift; one day ahead covers zones whose clocks
        # go back across midnight.
        return any(
            start <= moment < end for start, end in self._merged(day - 2 * _ONE_DAY, day + _ONE_DAY)
        )

    def state(self, at: datetime) -> ScheduleState:
        """Say "open", "closed", or "holiday" when a holiday or closed date shuts a working day."""
        if self.is_open(at):
            return "open"
        day = to_utc(at).astimezone(self.zone).date()
        if day not in self.exceptions and self._is_day_off(day) and self.weekly[day.weekday()]:
            return "holiday"
        return "closed"

    def next_opening(self, at: datetime) -> datetime | None:
        """The first moment after `at` when the line opens, or None within SEARCH_DAYS."""
        moment = to_utc(at)
        horizon = moment + timedelta(days=SEARCH_DAYS)
        for start, _ in self._merged_until(moment, horizon):
            if start > moment:
                return start.astimezone(self.zone) if start <= horizon else None
        return None

    def next_closing(self, at: datetime) -> datetime | None:
        """The first moment after `at` when the line closes, or None within SEARCH_DAYS."""
        moment = to_utc(at)
        horizon = moment + timedelta(days=SEARCH_DAYS)
        for _, end in self._merged_until(moment, horizon):
            if end > moment:
                return end.astimezone(self.zone) if end <= horizon else None
        return None

    def open_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Open periods within [start, end), merged where they touch, in the schedule's zone."""
        lo, hi = to_utc(start), to_utc(end)
        if hi <= lo:
            return []
        first = lo.astimezone(self.zone).date() - 2 * _ONE_DAY
        last = hi.astimezone(self.zone).date() + _ONE_DAY
        return [
            (max(s, lo).astimezone(self.zone), min(e, hi).astimezone(self.zone))
            for s, e in self._merged(first, last)
            if s < hi and e > lo
        ]

    # --- internals -------------------------------------------------------------------

    def _merged_until(self, moment: datetime, horizon: datetime) -> Iterator[Interval]:
        # Scanning two days past the horizon makes every period that ends before it whole.
        first = moment.astimezone(self.zone).date() - 2 * _ONE_DAY
        last = horizon.astimezone(self.zone).date() + 2 * _ONE_DAY
        return self._merged(first, last)

    def _merged(self, first: date, last: date) -> Iterator[Interval]:
        """UTC open periods of the days first..last, merged where they overlap or touch."""
        current: Interval | None = None
        day = first
        while day <= last:
            # Periods come out in start order: a day's ranges start on that day, and the
            # wall-clock-to-instant mapping never runs backwards.
            for start, end in self._day_intervals(day):
                if current is None:
                    current = (start, end)
                elif start <= current[1]:
                    current = (current[0], max(current[1], end))
                else:
                    yield current
                    current = (start, end)
            day += _ONE_DAY
        if current is not None:
            yield current

    def _day_intervals(self, day: date) -> list[Interval]:
        midnight = datetime(day.year, day.month, day.day)
        return [
            (
                wall_to_utc(midnight + timedelta(minutes=r.start), self.zone),
                wall_to_utc(midnight + timedelta(minutes=r.end), self.zone),
            )
            for r in self._ranges_for(day)
        ]

    def _ranges_for(self, day: date) -> tuple[TimeRange, ...]:
        # A range across midnight is generated only from the day it starts on, so its
        # morning part runs even when that next day is a holiday: the shift had already
        # started. Likewise a shift that would start on a holiday does not run at all.
        if day in self.exceptions:
            return self.exceptions[day]
        if self._is_day_off(day):
            return ()
        return self.weekly[day.weekday()]

    def _is_day_off(self, day: date) -> bool:
        return day in self.closed or day in self._holidays_in(day.year)

    def _holidays_in(self, year: int) -> frozenset[date]:
        if self.holiday_country is None:
            return frozenset()
        cached = self._holiday_years.get(year)
        if cached is None:
            cached = holiday_dates(self.holiday_country, self.holiday_subdivision, year)
            self._holiday_years[year] = cached
        return cached
