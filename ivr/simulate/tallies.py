"""Per-hour figures of a simulated run, from the calls as `ivr report` folds them
(ivr/reports/records.py, tally.py) plus who answered, the partner's cost, callbacks, messages
and calls that met a closed line. One small accumulator per hour: memory stays flat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from ivr.reports.records import CallRecord
from ivr.reports.tally import Sum, Tally
from ivr.routing.roster import Roster
from ivr.simulate.figures import HourRow


@dataclass(slots=True)
class CallExtra:
    """What a report's record does not keep of a call: who answered, and what else befell it."""

    team: str = ""
    closed: bool = False
    callbacks: int = 0
    voicemail: int = 0


class Hour:
    """The running figures of one hour (or of any group of hours merged)."""

    __slots__ = (
        "callbacks",
        "cost",
        "in_house",
        "missed_closed",
        "partner_agents",
        "partner_trunk",
        "tally",
        "voicemail",
        "waits",
    )

    def __init__(self) -> None:
        self.tally = Tally()
        self.waits = Sum()
        self.in_house = self.partner_agents = self.partner_trunk = 0
        self.callbacks = self.voicemail = self.missed_closed = 0
        self.cost = 0.0

    def merge(self, other: Hour) -> None:
        """Count another hour's calls in this one too."""
        self.tally.merge(other.tally)
        self.waits.merge(other.waits)
        self.in_house += other.in_house
        self.partner_agents += other.partner_agents
        self.partner_trunk += other.partner_trunk
        self.callbacks += other.callbacks
        self.voicemail += other.voicemail
        self.missed_closed += other.missed_closed
        self.cost += other.cost

    def figures(self) -> dict[str, Any]:
        """The HourRow fields after variant, day and hour."""
        row = self.tally.row("")
        return {
            "calls": row.calls,
            "answered": row.answered,
            "abandoned": row.abandoned,
            "abandon_rate": row.abandon_rate,
            "service_level": row.service_level,
            "asa": row.asa,
            "mean_wait": self.waits.mean,
            "answered_in_house": self.in_house,
            "answered_partner_agents": self.partner_agents,
            "answered_partner_trunk": self.partner_trunk,
            "partner_cost": round(self.cost, 2),
            "callbacks": self.callbacks,
            "voicemail": self.voicemail,
            "missed_closed": self.missed_closed,
        }


class Figures:
    """Hours of one variant's run, filled as its calls finish."""

    def __init__(self, variant: str, roster: Roster | None, tz: tzinfo) -> None:
        self.variant = variant
        self.tz = tz
        self.hours: dict[tuple[date, int], Hour] = {}
        self._kinds: dict[str, str] = {}
        self._prices: dict[str, tuple[float, float]] = {}
        self.currency = roster.currency if roster is not None else ""
        for name, team in (roster.teams if roster is not None else {}).items():
            outsourced = team.kind == "outsourced"
            self._kinds[name] = ("trunk" if team.trunk else "partner") if outsourced else "house"
            if team.price is not None:
                self._prices[name] = (team.price.per_call, team.price.per_minute)
        self._hour_of: dict[int, tuple[date, int]] = {}

    def add(self, record: CallRecord, extra: CallExtra | None) -> None:
        """Count one finished call in the hour it arrived."""
        if not record.plan:
            return  # a callback's dial, not a caller's call
        hour = self._hour(record.arrived)
        hour.tally.add(record)
        if record.queue and record.wait is not None:
            hour.waits.add(record.wait)
        extra = extra or CallExtra()
        hour.callbacks += extra.callbacks
        hour.voicemail += extra.voicemail
        if record.answered:
            kind = self._kinds.get(extra.team, "house")
            if kind == "trunk":
                hour.partner_trunk += 1
            elif kind == "partner":
                hour.partner_agents += 1
            else:
                hour.in_house += 1
            price = self._prices.get(extra.team)
            if price is not None:
                hour.cost += price[0] + price[1] * (record.talk or 0.0) / 60.0
        elif extra.closed and not record.abandoned:
            hour.missed_closed += 1  # one who gave up in a queue counts as abandoned only

    def _hour(self, at: float) -> Hour:
        # One datetime per quarter hour of the epoch, not per call (zones are offset from UTC
        # by whole quarter hours).
        quarter = int(at // 900)
        key = self._hour_of.get(quarter)
        if key is None:
            moment = datetime.fromtimestamp(quarter * 900 + 450, self.tz)
            key = self._hour_of[quarter] = (moment.date(), moment.hour)
        hour = self.hours.get(key)
        if hour is None:
            hour = self.hours[key] = Hour()
        return hour

    def rows(self, days: list[date]) -> list[HourRow]:
        """Every hour of `days`, empty hours included."""
        rows = []
        for day in days:
            for hour in range(24):
                figures = self.hours.get((day, hour)) or Hour()
                rows.append(HourRow(self.variant, day, hour, **figures.figures()))
        return rows

    def by_day(self, days: list[date]) -> list[tuple[str, Hour]]:
        """Each day's figures."""
        out = []
        for day in days:
            total = Hour()
            for hour in range(24):
                found = self.hours.get((day, hour))
                if found is not None:
                    total.merge(found)
            out.append((day.isoformat(), total))
        return out

    def total(self) -> Hour:
        """The whole run's figures."""
        total = Hour()
        for hour in self.hours.values():
            total.merge(hour)
        return total
