"""Uncovered time in words ops staff read at a glance: "Saturday 18:00-21:00",
"Monday-Friday 21:00-09:00 (overnight)", "2027-01-07 (Christmas Day) 09:00-21:00".

A span of dates is folded into the weeks it repeats: within a stretch where no zone
involved changes its clocks every week is alike, so each weekday keeps the gaps it has on
most ordinary dates (holidays, closed days and special hours set aside). Stretches whose
weeks differ (a shift kept in a zone with summer time, a plan in one without) name the
dates each window applies to. A date whose gaps go beyond its weekday's is listed on its
own, with the holiday or closure that makes it different.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from ivr.schedule.schedule import Schedule
from ivr.schedule.wallclock import wall_to_utc

DAY = 24 * 60
WEEK = 7 * DAY
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Interval = tuple[datetime, datetime]
Minutes = tuple[tuple[int, int], ...]  # wall-clock (start, end) minutes of one local day


def gap_windows(
    gaps: Sequence[Interval],
    zone: ZoneInfo,
    dates: Sequence[date],
    zones: Iterable[ZoneInfo] = (),
    days_apart: Mapping[date, str] | None = None,
) -> list[str]:
    """`gaps` (UTC instants) as readable windows in `zone`'s wall-clock time, over `dates`.

    `zones` are every other zone whose clock changes can shift the week (shifts'
    schedules); `days_apart` names dates that are not ordinary (holidays, closures).
    """
    if not dates:
        return []
    apart = days_apart or {}
    by_date = local_minutes(gaps, zone, dates)
    all_zones = list(dict.fromkeys([zone, *zones]))
    season = {
        d: tuple(z.utcoffset(datetime.combine(d, time(12))) for z in all_zones) for d in dates
    }
    usual = _usual_days(by_date, dates, season, apart)
    # Each stretch's week: the windows it holds, and on which dates.
    weeks: dict[tuple[Minutes, ...], list[date]] = defaultdict(list)
    for day in dates:
        weeks[tuple(usual.get((season[day], wd), ()) for wd in range(7))].append(day)
    lines: dict[str, tuple[int, list[date]]] = {}
    for week, week_dates in weeks.items():
        for start, text in week_windows(week):
            lines.setdefault(text, (start, []))[1].extend(week_dates)
    found: list[tuple[tuple[int, int, date], str]] = []
    for text, (start, seen) in lines.items():
        if len(seen) == len(dates):
            found.append(((0, start, dates[0]), text))
        else:
            found.append(((1, start, min(seen)), f"{text} ({date_runs(sorted(seen))})"))
    for first, last, minutes in _unusual_runs(by_date, dates, season, usual):
        names = list(dict.fromkeys(apart[d] for d in _dates(first, last) if d in apart))
        label = first.isoformat() if first == last else f"{first} to {last}"
        label += f" ({'; '.join(names)})" if names else ""
        found.append(((2, 0, first), f"{label} {_ranges(minutes)}"))
    return [text for _, text in sorted(found)]


def local_minutes(
    gaps: Sequence[Interval], zone: ZoneInfo, dates: Sequence[date]
) -> dict[date, Minutes]:
    """The gaps cut at `zone`'s midnights: each date's wall-clock minutes, dates outside
    `dates` left out."""
    wanted = set(dates)
    by_date: dict[date, list[tuple[int, int]]] = defaultdict(list)
    for start, end in gaps:
        moment = start
        while moment < end:
            local = moment.astimezone(zone)
            day = local.date()
            midnight = wall_to_utc(datetime.combine(day + timedelta(days=1), time()), zone)
            piece_end = min(end, midnight)
            begin = local.hour * 60 + local.minute
            finish = DAY if piece_end == midnight else _minute(piece_end.astimezone(zone))
            if day in wanted and finish > begin:
                by_date[day].append((begin, finish))
            moment = piece_end
    return {day: tuple(_merge(sorted(ranges))) for day, ranges in by_date.items()}


def week_windows(week: Sequence[Minutes]) -> list[tuple[int, str]]:
    """A week's gaps (Monday first) as (minute of the week it starts, words), gaps across
    midnight joined and weekdays with the same window grouped."""
    spans = _merge(
        sorted((wd * DAY + s, wd * DAY + e) for wd, day in enumerate(week) for s, e in day)
    )
    if not spans:
        return []
    if spans[0] == (0, WEEK):
        return [(0, "every day 00:00-24:00")]
    # Sunday night runs on into Monday morning.
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == WEEK:
        spans = [(spans[-1][0], WEEK + spans[0][1]), *spans[1:-1]]
    grouped: dict[tuple[int, int], list[int]] = defaultdict(list)
    single: list[tuple[int, str]] = []
    for start, end in spans:
        day, begin = divmod(start, DAY)
        if end - start <= DAY and (end - 1) // DAY - day <= 1:
            grouped[(begin, end - start)].append(day % 7)
        else:
            stop_day, stop = divmod(end % WEEK, DAY)
            text = f"{WEEKDAY_NAMES[day % 7]} {_hm(begin)} to {WEEKDAY_NAMES[stop_day]} {_hm(stop)}"
            single.append((start, text))
    for (begin, length), days in grouped.items():
        finish = begin + length
        words = f"{_hm(begin)}-{_hm(finish if finish <= DAY else finish - DAY)}"
        if finish > DAY:
            words += " (overnight)"
        single.append((min(days) * DAY + begin, f"{day_list(days)} {words}"))
    return sorted(single)


def day_list(days: Iterable[int]) -> str:
    """Weekdays (0 = Monday) as "Monday-Friday", "Tuesday, Thursday", "Sunday-Thursday",
    "every day"."""
    ordered = sorted(set(days))
    if len(ordered) == len(WEEKDAY_NAMES):
        return "every day"
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == len(WEEKDAY_NAMES) - 1:
        runs = [runs[-1] + runs[0], *runs[1:-1]]  # Sunday runs on into Monday
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0]]}-{WEEKDAY_NAMES[run[-1]]}")
        else:
            parts += [WEEKDAY_NAMES[d] for d in run]
    return ", ".join(parts)


def date_runs(dates: Sequence[date]) -> str:
    """Sorted dates as runs: "2027-03-28 to 2027-10-30, 2027-11-01"."""
    runs: list[tuple[date, date]] = []
    for day in dates:
        if runs and day - runs[-1][1] <= timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return ", ".join(a.isoformat() if a == b else f"{a} to {b}" for a, b in runs)


def days_apart(schedules: Iterable[Schedule], dates: Sequence[date]) -> dict[date, str]:
    """Dates no ordinary week has, with their reason: a public holiday of a schedule's
    calendar (by name), a schedule's closed date, or its special hours."""
    wanted = set(dates)
    years = sorted({d.year for d in dates})
    found: dict[date, list[str]] = defaultdict(list)
    calendars = {(s.holiday_country, s.holiday_subdivision) for s in schedules if s.holiday_country}
    for country, subdivision in sorted(calendars, key=str):
        calendar = holiday_calendars.country_holidays(country, subdiv=subdivision, years=years)
        for day, name in calendar.items():
            if day in wanted:
                found[day].append(str(name))
    for schedule in schedules:
        for day in schedule.closed & wanted:
            found[day].append(f"{schedule.name} closed")
        for day in set(schedule.exceptions) & wanted:
            found[day].append(f"{schedule.name} special hours")
    return {day: "; ".join(dict.fromkeys(names)) for day, names in found.items()}


# --- internals -------------------------------------------------------------------------


def _usual_days(
    by_date: Mapping[date, Minutes],
    dates: Sequence[date],
    season: Mapping[date, tuple[object, ...]],
    apart: Mapping[date, str],
) -> dict[tuple[tuple[object, ...], int], Minutes]:
    """Each (stretch, weekday): the gaps most of its ordinary dates have."""
    ordinary: dict[tuple[tuple[object, ...], int], Counter[Minutes]] = defaultdict(Counter)
    every: dict[tuple[tuple[object, ...], int], Counter[Minutes]] = defaultdict(Counter)
    for day in dates:
        key = (season[day], day.weekday())
        every[key][by_date.get(day, ())] += 1
        if day not in apart:
            ordinary[key][by_date.get(day, ())] += 1
    usual = {
        key: (ordinary.get(key) or counts).most_common(1)[0][0] for key, counts in every.items()
    }
    # A stretch too short to hold every weekday borrows the weekday's most common gaps.
    by_weekday: dict[int, Counter[Minutes]] = defaultdict(Counter)
    for (_, weekday), counts in (ordinary or every).items():
        by_weekday[weekday].update(counts)
    for stretch in set(season.values()):
        for weekday, counts in by_weekday.items():
            usual.setdefault((stretch, weekday), counts.most_common(1)[0][0])
    return usual


def _unusual_runs(
    by_date: Mapping[date, Minutes],
    dates: Sequence[date],
    season: Mapping[date, tuple[object, ...]],
    usual: Mapping[tuple[tuple[object, ...], int], Minutes],
) -> list[tuple[date, date, Minutes]]:
    """Dates with gaps their weekday does not have, runs of days alike joined."""
    runs: list[tuple[date, date, Minutes]] = []
    for day in dates:
        minutes = by_date.get(day, ())
        if _within(minutes, usual.get((season[day], day.weekday()), ())):
            continue
        if runs and runs[-1][2] == minutes and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day, minutes)
        else:
            runs.append((day, day, minutes))
    return runs


def _within(minutes: Minutes, usual: Minutes) -> bool:
    """True when every range of `minutes` lies inside a range of `usual`."""
    return all(any(a <= s and e <= b for a, b in usual) for s, e in minutes)


def _merge(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _ranges(minutes: Minutes) -> str:
    return ", ".join(f"{_hm(s)}-{_hm(e)}" for s, e in minutes)


def _hm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _minute(at: datetime) -> int:
    return at.hour * 60 + at.minute


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
