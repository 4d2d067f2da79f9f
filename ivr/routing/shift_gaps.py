"""When a queue callers can reach has no team on shift to answer it: swept over a span of
days from every shift and schedule change, for `ivr check --coverage`.

A team covers a queue when it is on shift and one of its agents (or its trunk) has the
queue's skills, at the widest the queue's overflow steps make them; teams an overflow step
adds (`add_team`) count. A queue that sends callers on at once when nobody can answer (a
`goto` step on `no_agents`, or on `outside_hours` while no in-house team is on) strands
nobody and is not a gap.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.plan.plan import Plan, PlanBook
from ivr.plan.queues import QueueSpec
from ivr.plan.reach import Reach
from ivr.routing.roster import Roster
from ivr.routing.skills import Requirement, WidenError
from ivr.schedule.schedule import Schedule, ScheduleState
from ivr.schedule.wallclock import wall_to_utc

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class QueueGaps:
    """One queue's uncovered time within the span: UTC intervals, in order, merged."""

    queue: QueueSpec
    plan: Plan  # the plan that defines the queue: its file, line and time zone
    teams: tuple[str, ...]  # the teams that could answer it, overflow teams included
    gaps: tuple[Interval, ...]


@dataclass(frozen=True)
class Span:
    """The days swept: `days` local days from `start`, in every zone involved."""

    start: date
    days: int

    def bounds(self, zones: Iterable[ZoneInfo]) -> Interval:
        """The UTC instants from the earliest local start to the latest local end."""
        listed = list(zones) or [ZoneInfo("UTC")]
        end = self.start + timedelta(days=self.days)
        lo = min(_midnight(self.start, zone) for zone in listed)
        hi = max(_midnight(end, zone) for zone in listed)
        return lo, hi


def shift_gaps(book: PlanBook, roster: Roster, span: Span) -> list[QueueGaps]:
    """Every queue of the plans with the times within `span` that callers can reach it and
    no team that could answer it is on shift (an empty tuple when there are none)."""
    reach = Reach(book)
    owners = {name: plan for plan in book.plans for name in plan.spec.queues}
    queues = {q.name: q for q in book.queue_specs()}
    schedules = list(dict.fromkeys([*reach.schedules, *roster.schedules.values()]))
    zones = list(dict.fromkeys([*reach.zones, *(s.zone for s in schedules)]))
    lo, hi = span.bounds(zones)
    opens = {id(s): _OpenTimes(s, lo, hi) for s in schedules}

    def state(schedule: Schedule, at: datetime) -> ScheduleState:
        return opens[id(schedule)].state(at)

    capable = {name: _capable_teams(q, roster) for name, q in queues.items()}
    in_house = frozenset(roster.in_house_teams())
    gaps: dict[str, list[Interval]] = {name: [] for name in queues}
    moments = _changes(schedules, zones, span, lo, hi)
    for begin, end in itertools.pairwise(moments):
        on_duty = frozenset(
            team
            for team, spec in roster.teams.items()
            if spec.shift is None or opens[id(roster.schedules[spec.shift])].is_open(begin)
        )
        for name in reach.queues(begin, state):
            queue = queues.get(name)
            if (
                queue is None
                or on_duty & capable[name]
                or _sent_on(queue, roster, on_duty, in_house)
            ):
                continue
            found = gaps[name]
            if found and found[-1][1] == begin:
                found[-1] = (found[-1][0], end)
            else:
                found.append((begin, end))
    return [
        QueueGaps(queues[name], owners[name], tuple(sorted(capable[name])), tuple(found))
        for name, found in gaps.items()
    ]


def _capable_teams(queue: QueueSpec, roster: Roster) -> frozenset[str]:
    """Teams with an agent or trunk able to take the queue's callers once its steps widen."""
    teams = queue.teams if queue.teams is not None else roster.in_house_teams()
    need = Requirement.of(queue.skills, teams)
    open_trunks = {n for n, t in roster.teams.items() if t.trunk is not None and not t.trunk.skills}
    for step in queue.overflow:
        try:
            if step.lower_levels is not None:
                need = need.widened(lower_levels=step.lower_levels)
            elif step.skills is not None:
                need = need.widened(skills=step.skills)
            elif step.add_team is not None and step.add_team in roster.teams:
                opened = [step.add_team] if step.add_team in open_trunks else []
                need = need.widened(add_teams=[step.add_team], open_teams=opened)
        except WidenError:
            continue  # the router skips such a step too
    able = {a.team for a in roster.agents if need.met_by(a.skills, a.team)}
    able |= {
        name
        for name, team in roster.teams.items()
        if team.trunk is not None and need.met_by(team.trunk.skills, name)
    }
    return frozenset(able)


def _sent_on(
    queue: QueueSpec, roster: Roster, on_duty: frozenset[str], in_house: frozenset[str]
) -> bool:
    """True when an overflow step sends callers on at once while nobody can answer."""
    own = set(queue.teams if queue.teams is not None else roster.in_house_teams())
    for step in queue.overflow:
        if step.goto is None:
            continue
        if step.no_agents:
            return True
        if step.outside_hours and not (own & in_house & on_duty):
            return True
    return False


def _changes(
    schedules: list[Schedule], zones: list[ZoneInfo], span: Span, lo: datetime, hi: datetime
) -> list[datetime]:
    """Every moment within [lo, hi] at which a shift, a schedule's state or a date changes."""
    moments = {lo, hi}
    for schedule in schedules:
        for start, end in schedule.open_intervals(lo, hi):
            moments.add(start.astimezone(UTC))
            moments.add(end.astimezone(UTC))
    for zone in zones:
        for offset in range(-1, span.days + 2):
            moments.add(_midnight(span.start + timedelta(days=offset), zone))
    return sorted(m for m in moments if lo <= m <= hi)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return wall_to_utc(datetime.combine(day, time()), zone)


class _OpenTimes:
    """A schedule's open periods within the span, looked up by bisection: the sweep asks
    each schedule thousands of times."""

    def __init__(self, schedule: Schedule, lo: datetime, hi: datetime) -> None:
        self._schedule = schedule
        periods = schedule.open_intervals(lo, hi)
        self._starts = [start.astimezone(UTC) for start, _ in periods]
        self._ends = [end.astimezone(UTC) for _, end in periods]
        self._closed: dict[date, ScheduleState] = {}

    def is_open(self, at: datetime) -> bool:
        index = bisect_right(self._starts, at) - 1
        return index >= 0 and at < self._ends[index]

    def state(self, at: datetime) -> ScheduleState:
        if self.is_open(at):
            return "open"
        # Closed or holiday depends on the local date alone.
        day = at.astimezone(self._schedule.zone).date()
        found = self._closed.get(day)
        if found is None:
            found = self._schedule.state(at)
            self._closed[day] = found
        return found
