"""What ops staff write, read into values: times, ranges, days, dates and zones.

Each reader raises a `problem` that says what is wrong in words ops staff can act on; the
spec models (spec.py) attach the readers to their fields.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_core import PydanticCustomError

from ivr.schedule.hours import DAY_NAMES, MINUTES_PER_DAY, TimeRange

_TIME_HINT = "write HH:MM, 00:00 to 24:00"
_RANGE_HINT = "write HH:MM-HH:MM, e.g. 09:00-18:00"
_DAY_HINT = "write mon, tue, wed, thu, fri, sat or sun, a range like mon-fri or a list like sat,sun"
_DATE_HINT = "write YYYY-MM-DD, e.g. 2026-12-31"
_ZONE_HINT = "write an IANA name such as Europe/Moscow"
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def problem(reason: str) -> PydanticCustomError:
    """A validation error whose message is `reason`, word for word."""
    # The reason goes through the context, so braces in user text cannot break the template.
    return PydanticCustomError("schedule", "{reason}", {"reason": reason})


def parse_time(text: str) -> int:
    """Minutes after midnight from "HH:MM", 00:00 to 24:00."""
    match = _TIME_RE.fullmatch(text.strip())
    if match is None:
        raise problem(f"'{text.strip()}' is not a time; {_TIME_HINT}")
    hours, minutes = int(match[1]), int(match[2])
    if hours > 24 or minutes > 59 or (hours == 24 and minutes > 0):
        raise problem(f"'{text.strip()}' is not a time; {_TIME_HINT}")
    return hours * 60 + minutes


def parse_range(text: str) -> TimeRange:
    """A range from "HH:MM-HH:MM"; an end not after the start runs across midnight."""
    parts = text.split("-")
    if len(parts) != 2 or not all(":" in part for part in parts):
        raise problem(f"'{text.strip()}' is not a time range; {_RANGE_HINT}")
    start, end = parse_time(parts[0]), parse_time(parts[1])
    if start == MINUTES_PER_DAY:
        raise problem(f"'{text.strip()}' starts at 24:00; start the range at 00:00 instead")
    if start == end:
        raise problem(f"'{text.strip()}' is empty; for a full day write 00:00-24:00")
    if end <= start:
        end += MINUTES_PER_DAY  # runs across midnight into the next day
    return TimeRange(start, end)


def parse_ranges(value: object) -> tuple[TimeRange, ...]:
    """Accept "09:00-18:00", "09:00-13:00, 14:00-18:00", a list of those, or [] / closed."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "closed"):
        return ()
    if isinstance(value, str):
        items: list[object] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise problem(
            f"{value!r} is not a time range; {_RANGE_HINT}, a list of ranges, or [] for closed"
        )
    ranges: list[TimeRange] = []
    for item in items:
        if not isinstance(item, str):
            raise problem(f"{item!r} is not a time range; {_RANGE_HINT} (in quotes)")
        ranges.append(parse_range(item))
    return tuple(sorted(ranges))


def _parse_day(text: str, key: str) -> int:
    name = text.strip().lower()
    if name not in DAY_NAMES:
        raise problem(f"'{text.strip()}' in '{key}' is not a day; {_DAY_HINT}")
    return DAY_NAMES.index(name)


def parse_days(value: object) -> tuple[str, frozenset[int]]:
    """A weekly key: "mon", "mon-fri" (may wrap, as in "fri-mon") or "sat,sun"."""
    if not isinstance(value, str) or not value.strip():
        raise problem(f"{value!r} is not a day; {_DAY_HINT}")
    days: set[int] = set()
    for part in value.split(","):
        first, dash, last = part.partition("-")
        start = _parse_day(first, value)
        stop = _parse_day(last, value) if dash else start
        days.update((start + offset) % 7 for offset in range((stop - start) % 7 + 1))
    return value.strip(), frozenset(days)


def parse_date(value: object) -> date:
    """A date as YAML gives it (unquoted) or as "YYYY-MM-DD" text."""
    # YAML turns unquoted 2026-12-31 into a date; quoted, it stays text.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise problem(f"'{value}' is not a date; {_DATE_HINT}")


def known_zone(name: str) -> bool:
    """Whether the tz database knows `name` (plans, rosters, config and the CLI ask here)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, RecursionError):
        # A long or odd key can fail inside the tz database lookup itself, not only as "unknown".
        return False
    return True


def parse_zone(value: object) -> str:
    """An IANA zone name the tz database knows."""
    if not isinstance(value, str):
        raise problem(f"{value!r} is not a time zone; {_ZONE_HINT}")
    if not known_zone(value):
        raise problem(f"'{value[:60]}' is not a known time zone; {_ZONE_HINT}")
    return value
