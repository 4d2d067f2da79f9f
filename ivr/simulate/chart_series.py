"""The numbers the simulator's charts plot, summed from its hourly rows in one pass: service
level and abandon rate by hour of day, who answered each day, mean wait by weekday and hour.

Rates are recombined from the rows' counts (a rate times the calls it was taken over), never
averaged as rates, so a quiet hour weighs as little as it should.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from ivr.simulate.figures import HourRow

HOURS = 24
WEEKDAYS = 7

Curve = tuple[float | None, ...]


@dataclass(frozen=True)
class HourOfDay:
    """One variant's service level and abandon rate for each hour of the day (0-23), over
    every day of the run; None for an hour in which no call was answered or abandoned."""

    variant: str
    service_level: Curve
    abandon_rate: Curve
    decided: tuple[int, ...]  # answered + abandoned, each hour


@dataclass(frozen=True)
class WhoAnswered:
    """One variant's answered calls per day (every variant's days): in-house, the partner's
    agents, its trunk."""

    variant: str
    days: tuple[date, ...]
    in_house: tuple[int, ...]
    partner_agents: tuple[int, ...]
    partner_trunk: tuple[int, ...]


@dataclass(frozen=True)
class WaitMap:
    """One variant's mean wait in queue (s) by weekday (Monday first) and hour; None where
    nobody waited."""

    variant: str
    mean_wait: tuple[Curve, ...]


@dataclass(frozen=True)
class ChartSeries:
    """Everything the charts plot, one entry per variant in the order the rows name them."""

    by_hour: tuple[HourOfDay, ...]
    answered: tuple[WhoAnswered, ...]
    waits: tuple[WaitMap, ...]

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(curve.variant for curve in self.by_hour)


@dataclass
class _Sums:
    within_sla: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    abandoned: list[int] = field(default_factory=lambda: [0] * HOURS)
    decided: list[int] = field(default_factory=lambda: [0] * HOURS)
    by_day: dict[date, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    wait_total: list[list[float]] = field(
        default_factory=lambda: [[0.0] * HOURS for _ in range(WEEKDAYS)]
    )
    wait_weight: list[list[int]] = field(
        default_factory=lambda: [[0] * HOURS for _ in range(WEEKDAYS)]
    )


def chart_series(rows: Iterable[HourRow]) -> ChartSeries:
    """Sum the rows (any order, any number of variants) into the charts' series."""
    sums: dict[str, _Sums] = {}
    for row in rows:
        total = sums.get(row.variant)
        if total is None:
            total = sums[row.variant] = _Sums()
        decided = row.answered + row.abandoned
        total.decided[row.hour] += decided
        total.abandoned[row.hour] += row.abandoned
        if row.service_level is not None:
            total.within_sla[row.hour] += row.service_level * decided
        day = total.by_day[row.day]
        day[0] += row.answered_in_house
        day[1] += row.answered_partner_agents
        day[2] += row.answered_partner_trunk
        if row.mean_wait is not None:
            # Weighted by the callers it is a mean of (those who got an answer or gave up;
            # at least one, since someone waited).
            weight = max(decided, 1)
            total.wait_total[row.day.weekday()][row.hour] += row.mean_wait * weight
            total.wait_weight[row.day.weekday()][row.hour] += weight
    # Every variant over the same days, so that their panels line up.
    days = tuple(sorted({day for total in sums.values() for day in total.by_day}))
    return ChartSeries(
        by_hour=tuple(_by_hour(name, total) for name, total in sums.items()),
        answered=tuple(_answered(name, total, days) for name, total in sums.items()),
        waits=tuple(
            WaitMap(
                name,
                tuple(
                    tuple(_ratio(w, n) for w, n in zip(waits, weights, strict=True))
                    for waits, weights in zip(total.wait_total, total.wait_weight, strict=True)
                ),
            )
            for name, total in sums.items()
        ),
    )


def _by_hour(name: str, total: _Sums) -> HourOfDay:
    return HourOfDay(
        name,
        tuple(_ratio(w, n) for w, n in zip(total.within_sla, total.decided, strict=True)),
        tuple(_ratio(a, n) for a, n in zip(total.abandoned, total.decided, strict=True)),
        tuple(total.decided),
    )


def _answered(name: str, total: _Sums, days: tuple[date, ...]) -> WhoAnswered:
    counts = [total.by_day.get(day, [0, 0, 0]) for day in days]
    return WhoAnswered(
        name,
        days,
        tuple(c[0] for c in counts),
        tuple(c[1] for c in counts),
        tuple(c[2] for c in counts),
    )


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None
