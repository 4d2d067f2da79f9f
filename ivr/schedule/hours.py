"""The values opening hours are made of: days of the week, and time ranges in minutes."""

from __future__ import annotations

from dataclasses import dataclass

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60


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
