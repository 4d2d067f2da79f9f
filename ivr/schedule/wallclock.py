"""Wall-clock times in a zone as UTC instants, across DST changes (rules: the package docstring)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def to_utc(at: datetime) -> datetime:
    """`at` as a UTC instant; ValueError for a naive datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass an aware datetime")
    return at.astimezone(UTC)


def wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive wall-clock time in `zone` stands for (see the package docstring)."""
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
