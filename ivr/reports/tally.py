"""Running figures of a group of calls: counts and sums a finished call is added to at once,
so a report keeps one small tally per group instead of every call's record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ivr.reports.records import CallRecord


@dataclass(frozen=True, slots=True)
class Row:
    """Figures for one group; rates are fractions, times seconds, None when undefined."""

    group: str
    calls: int
    answered: int
    abandoned: int
    abandon_rate: float | None
    asa: float | None
    service_level: float | None
    aht: float | None


class Sum:
    """A running sum of floats and how many there were, compensated (Neumaier) so that its
    error stays within a unit in the last place whatever the order of the values: a streamed
    report adds calls in the order they finish, not the order they arrived."""

    __slots__ = ("count", "high", "low")

    def __init__(self) -> None:
        self.count = 0
        self.high = 0.0
        self.low = 0.0  # what rounding took off `high` so far

    def add(self, value: float) -> None:
        """Add one value."""
        self.count += 1
        high = self.high
        total = high + value
        if abs(high) >= abs(value):
            self.low += (high - total) + value
        else:
            self.low += (value - total) + high
        self.high = total

    def merge(self, other: Sum) -> None:
        """Add another sum's values."""
        count = self.count + other.count
        self.add(other.high)
        self.low += other.low
        self.count = count

    @property
    def total(self) -> float:
        """The sum."""
        return self.high + self.low

    @property
    def mean(self) -> float | None:
        """The mean of the values added; None when there are none."""
        return (self.high + self.low) / self.count if self.count else None


class Tally:
    """Calls, answered, abandoned, waits, answers within sla and talk times of a group."""

    __slots__ = ("abandoned", "answered", "calls", "talks", "waits", "within")

    def __init__(self) -> None:
        self.calls = self.answered = self.abandoned = self.within = 0
        self.waits = Sum()
        self.talks = Sum()

    def add(self, record: CallRecord) -> None:
        """Count one finished call."""
        self.calls += 1
        if record.abandoned:
            self.abandoned += 1
        if not record.answered:
            return
        self.answered += 1
        if record.wait is not None:
            self.waits.add(record.wait)
            if record.sla is not None and record.wait <= record.sla:
                self.within += 1
        if record.talk is not None:
            self.talks.add(record.talk)

    def merge(self, other: Tally) -> None:
        """Count another group's calls in this one too."""
        self.calls += other.calls
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.within += other.within
        self.waits.merge(other.waits)
        self.talks.merge(other.talks)

    def row(self, group: str) -> Row:
        """The figures so far.

        Abandon rate and service level are over answered + abandoned (overflows and callbacks
        left the queue by design); service level counts answers within the queue's own sla.
        """
        decided = self.answered + self.abandoned
        return Row(
            group=group,
            calls=self.calls,
            answered=self.answered,
            abandoned=self.abandoned,
            abandon_rate=self.abandoned / decided if decided else None,
            asa=self.waits.mean,
            service_level=self.within / decided if decided else None,
            aht=self.talks.mean,
        )


def summarise(group: str, records: Iterable[CallRecord]) -> Row:
    """Calls, answered, abandoned, abandon rate, ASA, service level and AHT of `records`."""
    tally = Tally()
    for record in records:
        tally.add(record)
    return tally.row(group)
