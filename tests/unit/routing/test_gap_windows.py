"""Uncovered time in words: weekdays grouped, nights joined across midnight and the week's end,
dates in runs, clocks that change cut at the right wall-clock minute."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ivr.routing.gap_windows import date_runs, day_list, local_minutes, week_windows

NONE: tuple[tuple[int, int], ...] = ()


def test_weekdays_are_grouped_in_runs_that_may_wrap_round_the_week() -> None:
    assert day_list([0, 1, 2, 3, 4]) == "Monday-Friday"
    assert day_list([1, 3]) == "Tuesday, Thursday"
    assert day_list([5, 6]) == "Saturday, Sunday"
    assert day_list([6, 0, 1, 2, 3]) == "Sunday-Thursday"
    assert day_list(range(7)) == "every day"


def test_a_week_of_gaps_reads_as_grouped_windows_in_week_order() -> None:
    evening = ((18 * 60, 21 * 60),)
    late_and_early = ((0, 9 * 60), (21 * 60, 24 * 60))
    week = (late_and_early,) * 5 + (evening, NONE)
    assert [text for _, text in week_windows(week)] == [
        "Monday 00:00-09:00",
        "Monday-Thursday 21:00-09:00 (overnight)",
        "Friday 21:00-24:00",
        "Saturday 18:00-21:00",
    ]
    # Sunday evening runs on into Monday morning; the whole week is one window.
    sunday_night = (((0, 360),), *(NONE,) * 5, ((20 * 60, 24 * 60),))
    assert [text for _, text in week_windows(sunday_night)] == ["Sunday 20:00-06:00 (overnight)"]
    assert [text for _, text in week_windows((((0, 1440),),) * 7)] == ["every day 00:00-24:00"]
    assert week_windows((NONE,) * 7) == []


def test_dates_read_as_runs() -> None:
    days = [date(2027, 1, d) for d in (1, 2, 3, 7, 9, 10)]
    assert date_runs(days) == "2027-01-01 to 2027-01-03, 2027-01-07, 2027-01-09 to 2027-01-10"


def test_gaps_are_cut_at_local_midnight_on_the_day_the_clocks_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2027-03-28: 02:00 CET becomes 03:00 CEST. 00:30 UTC (01:30 CET) to 02:30 UTC (04:30 CEST).
    gap = (datetime(2027, 3, 28, 0, 30, tzinfo=UTC), datetime(2027, 3, 28, 2, 30, tzinfo=UTC))
    # 22:00 UTC on the 28th is 00:00 CEST on the 29th: cut there.
    night = (datetime(2027, 3, 28, 21, 0, tzinfo=UTC), datetime(2027, 3, 28, 23, 0, tzinfo=UTC))
    dates = [date(2027, 3, 28), date(2027, 3, 29)]
    assert local_minutes([gap, night], berlin, dates) == {
        date(2027, 3, 28): ((90, 270), (23 * 60, 24 * 60)),
        date(2027, 3, 29): ((0, 60),),
    }
