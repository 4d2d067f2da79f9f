"""`ivr check --coverage`: the weekday and hour windows in which callers can reach a queue
and no team that could answer it is on shift, one warning per window at the queue's line.

    dialplans/shop.yaml:120:3: warning: Saturday 18:00-21:00: returns has no team on shift; ...

The week is the typical week of the coming year (from `start`), so shifts in a zone with
summer time show the dates each window applies to, and holidays and closed days that leave
a queue uncovered are listed by date and name.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ivr.plan.errors import Problem
from ivr.plan.plan import PlanBook
from ivr.routing.gap_windows import days_apart, gap_windows
from ivr.routing.roster import Roster
from ivr.routing.shift_gaps import QueueGaps, Span, shift_gaps

DAYS = 365


def coverage_problems(
    book: PlanBook, roster: Roster, start: date, days: int = DAYS
) -> list[Problem]:
    """A warning for each window within `days` days from `start` in which a queue callers can
    reach has no team on shift that could answer it."""
    span = Span(start, days)
    dates = [start + timedelta(days=n) for n in range(days)]
    schedules = list(
        dict.fromkeys(
            [
                *roster.schedules.values(),
                *(s for plan in book.plans for s in plan.schedules.values()),
            ]
        )
    )
    apart = days_apart(schedules, dates)
    zones = [s.zone for s in schedules]
    problems: list[Problem] = []
    for found in shift_gaps(book, roster, span):
        if not found.gaps:
            continue
        zone = ZoneInfo(found.plan.spec.timezone)
        for when in gap_windows(found.gaps, zone, dates, zones, apart):
            problems.append(_warning(found, roster, when))
    return problems


def _warning(found: QueueGaps, roster: Roster, when: str) -> Problem:
    plan, queue = found.plan, found.queue
    line, column = plan.source.where(("queues", queue.name)) if plan.source else (1, 1)
    teams = ", ".join(_team_words(roster, team) for team in found.teams) or "none"
    return Problem(
        plan.file,
        line,
        column,
        f"{when}: {queue.name} has no team on shift",
        f"times in {plan.spec.timezone}; teams that could answer it: {teams}; widen a shift "
        "(the roster's schedules:), add an overflow step that adds a team on shift then "
        "(add_team:), or keep callers out of the queue then (a when: case with schedule:)",
        warning=True,
    )


def _team_words(roster: Roster, team: str) -> str:
    shift = roster.teams[team].shift
    return f"{team} (shift {shift})" if shift else team
