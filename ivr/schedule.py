"""Opening hours, public holidays, weekends and nights for a shop's phone line.

A pure module: it never reads the clock. Every question takes the moment `at`
as an aware datetime, and all arithmetic is done on UTC instants, because
aware datetimes that share a ZoneInfo compare and subtract as wall-clock times
and would get DST days wrong.

Conventions (ops staff write wall-clock times in the schedule's zone):
- A range "HH:MM-HH:MM" is half-open: open at the start, closed at the end.
- A range whose end is not after its start runs across midnight and belongs to
  the day it starts on; "00:00-24:00" is a full day.
- A wall-clock time that happens twice (clocks go back) means its first
  occurrence, as zoneinfo's fold=0 does; a time that never happens (clocks jump
  forward over it) means the moment of the jump, when the clock first shows a
  later time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "SEARCH_DAYS",
    "HolidaySpec",
    "Schedule",
    "ScheduleError",
    "ScheduleSpec",
    "ScheduleState",
    "TimeRange",
    "load_schedules",
]

SEARCH_DAYS = 400
"""How far ahead next_opening/next_closing look before answering None."""

ScheduleState = Literal["open", "closed", "holiday"]
Interval = tuple[datetime, datetime]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_ONE_DAY = timedelta(days=1)
_TIME_HINT = "write HH:MM, 00:00 to 24:00"
_RANGE_HINT = "write HH:MM-HH:MM, e.g. 09:00-18:00"
_DAY_HINT = "write mon, tue, wed, thu, fri, sat or sun, a range like mon-fri or a list like sat,sun"
_DATE_HINT = "write YYYY-MM-DD, e.g. 2026-12-31"
_ZONE_HINT = "write an IANA name such as Europe/Moscow"
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")


class ScheduleError(ValueError):
    """A schedule in the configuration is wrong; the message names it and says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, order=True)
class TimeRange:
    """Open from `start` to `end`, in minutes after the start of the day the range belongs to.

    `end` is above 1440 for a range that runs past midnight into the next day.
    """

    start: int
    end: int

    def __str__(self) -> str:
        end = self.end - MINUTES_PER_DAY if self.end > MINUTES_PER_DAY else self.end
        return f"{_format_minutes(self.start)}-{_format_minutes(end)}"


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _problem(reason: str) -> PydanticCustomError:
    # The reason goes through the context, so braces in user text cannot break the template.
    return PydanticCustomError("schedule", "{reason}", {"reason": reason})


# --- parsing what ops staff write ------------------------------------------------------


def _parse_time(text: str) -> int:
    match = _TIME_RE.fullmatch(text.strip())
    if match is None:
        raise _problem(f"'{text.strip()}' is not a time; {_TIME_HINT}")
    hours, minutes = int(match[1]), int(match[2])
    if hours > 24 or minutes > 59 or (hours == 24 and minutes > 0):
        raise _problem(f"'{text.strip()}' is not a time; {_TIME_HINT}")
    return hours * 60 + minutes


def _parse_range(text: str) -> TimeRange:
    parts = text.split("-")
    if len(parts) != 2 or not all(":" in part for part in parts):
        raise _problem(f"'{text.strip()}' is not a time range; {_RANGE_HINT}")
    start, end = _parse_time(parts[0]), _parse_time(parts[1])
    if start == MINUTES_PER_DAY:
        raise _problem(f"'{text.strip()}' starts at 24:00; start the range at 00:00 instead")
    if start == end:
        raise _problem(f"'{text.strip()}' is empty; for a full day write 00:00-24:00")
    if end <= start:
        end += MINUTES_PER_DAY  # runs across midnight into the next day
    return TimeRange(start, end)


def _parse_ranges(value: object) -> tuple[TimeRange, ...]:
    """Accept "09:00-18:00", "09:00-13:00, 14:00-18:00", a list of those, or [] / closed."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "closed"):
        return ()
    if isinstance(value, str):
        items: list[object] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise _problem(
            f"{value!r} is not a time range; {_RANGE_HINT}, a list of ranges, or [] for closed"
        )
    ranges: list[TimeRange] = []
    for item in items:
        if not isinstance(item, str):
            raise _problem(f"{item!r} is not a time range; {_RANGE_HINT} (in quotes)")
        ranges.append(_parse_range(item))
    return tuple(sorted(ranges))


def _parse_day(text: str, key: str) -> int:
    name = text.strip().lower()
    if name not in DAY_NAMES:
        raise _problem(f"'{text.strip()}' in '{key}' is not a day; {_DAY_HINT}")
    return DAY_NAMES.index(name)


def _parse_days(value: object) -> tuple[str, frozenset[int]]:
    """A weekly key: "mon", "mon-fri" (may wrap, as in "fri-mon") or "sat,sun"."""
    if not isinstance(value, str) or not value.strip():
        raise _problem(f"{value!r} is not a day; {_DAY_HINT}")
    days: set[int] = set()
    for part in value.split(","):
        first, dash, last = part.partition("-")
        start = _parse_day(first, value)
        stop = _parse_day(last, value) if dash else start
        days.update((start + offset) % 7 for offset in range((stop - start) % 7 + 1))
    return value.strip(), frozenset(days)


def _parse_date(value: object) -> date:
    # YAML turns unquoted 2026-12-31 into a date; quoted, it stays text.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _problem(f"'{value}' is not a date; {_DATE_HINT}")


def _parse_zone(value: object) -> str:
    if not isinstance(value, str):
        raise _problem(f"{value!r} is not a time zone; {_ZONE_HINT}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError, RecursionError):
        # A long or odd key can fail inside the tz database lookup itself, not only as "unknown".
        raise _problem(f"'{value[:60]}' is not a known time zone; {_ZONE_HINT}") from None
    return value


Ranges = Annotated[tuple[TimeRange, ...], PlainValidator(_parse_ranges)]
DayKey = Annotated[tuple[str, frozenset[int]], PlainValidator(_parse_days)]
DateValue = Annotated[date, PlainValidator(_parse_date)]
ZoneName = Annotated[str, PlainValidator(_parse_zone)]


class HolidaySpec(BaseModel):
    """Which public-holiday calendar closes the line (from the `holidays` package)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = "RU"
    subdivision: str | None = None

    @field_validator("country", mode="before")
    @classmethod
    def _upper_country(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known_calendar(self) -> HolidaySpec:
        try:
            holiday_calendars.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError:
            raise _problem(self._unknown_calendar()) from None
        return self

    def _unknown_calendar(self) -> str:
        supported: dict[str, list[str]] = holiday_calendars.list_supported_countries()
        if self.country not in supported:
            return (
                f"country '{self.country}' is not in the holidays calendar; "
                "write an ISO 3166 code such as RU"
            )
        known = supported[self.country]
        if not known:
            return (
                f"subdivision '{self.subdivision}' is unknown; {self.country} has no "
                "subdivisions, write subdivision: null"
            )
        return (
            f"subdivision '{self.subdivision}' is not a subdivision of {self.country}; "
            f"expected one of {', '.join(known)}"
        )


class ScheduleSpec(BaseModel):
    """One named schedule as ops staff write it in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: ZoneName
    weekly: dict[DayKey, Ranges] = Field(default_factory=dict)
    holidays: HolidaySpec | None = Field(default_factory=HolidaySpec)
    closed: tuple[DateValue, ...] = ()
    exceptions: dict[DateValue, Ranges] = Field(default_factory=dict)

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays_off(cls, value: object) -> object:
        # `holidays: none` (YAML text), `holidays: null` and `holidays: false` all disable.
        if value is None or value is False:
            return None
        if isinstance(value, str):
            if value.strip().lower() == "none":
                return None
            raise _problem(f"'{value}' is not understood; write {{country: RU}} or none")
        return value

    @field_validator("exceptions", mode="before")
    @classmethod
    def _date_keys_as_text(cls, value: object) -> object:
        # Error locations show keys with repr(); ISO text reads better than datetime.date(...).
        if not isinstance(value, dict):
            return value
        return {_iso_if_date(key): ranges for key, ranges in value.items()}

    @field_validator("weekly")
    @classmethod
    def _each_day_once(
        cls, value: dict[tuple[str, frozenset[int]], tuple[TimeRange, ...]]
    ) -> dict[tuple[str, frozenset[int]], tuple[TimeRange, ...]]:
        owner: dict[int, str] = {}
        for key, days in value:
            for day in sorted(days):
                if day in owner:
                    raise _problem(
                        f"'{DAY_NAMES[day]}' is given twice, in '{owner[day]}' and '{key}'; "
                        "give each day once"
                    )
                owner[day] = key
        return value

    @model_validator(mode="after")
    def _closed_or_exception(self) -> ScheduleSpec:
        for day in self.closed:
            if day in self.exceptions:
                raise _problem(
                    f"'{day.isoformat()}' is in both closed and exceptions; keep it in one of them"
                )
        return self


def _iso_if_date(key: object) -> object:
    if isinstance(key, date) and not isinstance(key, datetime):
        return key.isoformat()
    return key


# --- the compiled schedule ---------------------------------------------------------------


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
        moment = _to_utc(at)
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
        day = _to_utc(at).astimezone(self.zone).date()
        if day not in self.exceptions and self._is_day_off(day) and self.weekly[day.weekday()]:
            return "holiday"
        return "closed"

    def next_opening(self, at: datetime) -> datetime | None:
        """The first moment after `at` when the line opens, or None within SEARCH_DAYS."""
        moment = _to_utc(at)
        horizon = moment + timedelta(days=SEARCH_DAYS)
        for start, _ in self._merged_until(moment, horizon):
            if start > moment:
                return start.astimezone(self.zone) if start <= horizon else None
        return None

    def next_closing(self, at: datetime) -> datetime | None:
        """The first moment after `at` when the line closes, or None within SEARCH_DAYS."""
        moment = _to_utc(at)
        horizon = moment + timedelta(days=SEARCH_DAYS)
        for _, end in self._merged_until(moment, horizon):
            if end > moment:
                return end.astimezone(self.zone) if end <= horizon else None
        return None

    def open_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Open periods within [start, end), merged where they touch, in the schedule's zone."""
        lo, hi = _to_utc(start), _to_utc(end)
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
                _wall_to_utc(midnight + timedelta(minutes=r.start), self.zone),
                _wall_to_utc(midnight + timedelta(minutes=r.end), self.zone),
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
            calendar = holiday_calendars.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=year
            )
            cached = frozenset[date](calendar.keys())
            self._holiday_years[year] = cached
        return cached


def _to_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass an aware datetime")
    return at.astimezone(UTC)


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive wall-clock time in `zone` stands for (see the module docstring)."""
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: first of a repeated time
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # The time was skipped. fold=1 reads it with the later offset, which lands before the
    # jump; fold=0 reads it with the earlier offset, which lands after it.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _jump_between(before, first, zone)


def _jump_between(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The instant in (before, after] where the zone's UTC offset changes, to the second."""
    target = after.astimezone(zone).utcoffset()
    lo, hi = int(before.timestamp()), int(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


# --- loading all schedules -------------------------------------------------------------


def load_schedules(mapping: Mapping[str, Any]) -> dict[str, Schedule]:
    """Build every schedule from the parsed `schedules:` mapping (name -> schedule).

    Raises ScheduleError listing every problem, each naming its schedule.
    """
    if not isinstance(mapping, Mapping):
        raise ScheduleError(
            [f"schedules: expected a mapping of names to schedules, got {mapping!r}"]
        )
    problems: list[str] = []
    schedules: dict[str, Schedule] = {}
    for name, raw in mapping.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(f"schedule {name!r}: a schedule name must be non-empty text")
            continue
        try:
            spec = ScheduleSpec.model_validate(raw)
        except ValidationError as error:
            problems.extend(f"schedule '{name}': {_describe(item)}" for item in error.errors())
            continue
        schedules[name] = Schedule.from_spec(name, spec)
    if problems:
        raise ScheduleError(problems)
    return schedules


_KEYS_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): ScheduleSpec,
    ("holidays",): HolidaySpec,
}

_MISSING_HINTS = {"timezone": "add it, e.g. timezone: Europe/Moscow"}


def _describe(item: Mapping[str, Any]) -> str:
    """One pydantic error as '<where>: <problem>' in words ops staff can act on."""
    loc: tuple[str | int, ...] = tuple(item["loc"])
    kind: str = item["type"]
    if kind == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        known = _KEYS_AT.get(tuple(str(part) for part in parent))
        expected = f"; expected {', '.join(known.model_fields)}" if known else ""
        return _with_where(parent, f"unknown key '{key}'{expected}")
    if kind == "missing":
        hint = _MISSING_HINTS.get(str(loc[-1]), "add it")
        return _with_where(loc[:-1], f"'{loc[-1]}' is missing; {hint}")
    if kind in ("model_type", "dict_type"):
        known = _KEYS_AT.get(tuple(str(part) for part in loc))
        keys = f" with keys {', '.join(known.model_fields)}" if known else ""
        return _with_where(loc, f"expected a mapping{keys}, got {item['input']!r}")
    if kind in ("tuple_type", "list_type"):
        return _with_where(loc, f"expected a list, got {item['input']!r}")
    return _with_where(loc, str(item["msg"]))


def _with_where(loc: tuple[str | int, ...], message: str) -> str:
    # A bad dict key is reported at its mapping: the message already quotes the key.
    if loc and loc[-1] == "[key]":
        loc = loc[:-2]
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else f"{'.' if where else ''}{part}"
    return f"{where}: {message}" if where else message
