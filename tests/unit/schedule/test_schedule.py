"""Opening hours as a caller would notice them: open, closed, holidays, nights and DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.schedule.load import ScheduleError, load_schedules
from ivr.schedule.schedule import Schedule
from ivr.schedule.spec import ScheduleSpec

MSK = ZoneInfo("Europe/Moscow")
BER = ZoneInfo("Europe/Berlin")

# The example ops staff are shown, verbatim (unquoted dates included, as YAML allows).
SHOP_YAML = """
schedules:
  shop-hours:
    timezone: Europe/Moscow
    weekly:
      mon-fri: "09:00-18:00"
      sat: ["10:00-14:00"]
      sun: []
    holidays: {country: RU, subdivision: null}
    closed: ["2026-12-30"]
    exceptions:
      "2026-12-31": "09:00-15:00"
      2026-11-28: "10:00-18:00"
  night-shift:
    timezone: Europe/Moscow
    weekly: {mon-sun: "22:00-06:00"}
"""


def build(timezone: str = "Europe/Moscow", **fields: Any) -> Schedule:
    """One schedule named 'test' from spec fields, through the public loader."""
    return load_schedules({"test": {"timezone": timezone, **fields}})["test"]


def shop() -> dict[str, Schedule]:
    return load_schedules(yaml.safe_load(SHOP_YAML)["schedules"])


def msk(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def utc(moment: datetime) -> datetime:
    # Aware datetimes sharing one ZoneInfo compare by wall clock; UTC compares instants.
    return moment.astimezone(UTC)


def as_utc(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    return [(utc(start), utc(end)) for start, end in intervals]


# --- holidays, closed dates and exceptions -------------------------------------------


def test_unity_day_is_closed_while_the_day_before_and_after_are_open() -> None:
    hours = shop()["shop-hours"]
    assert hours.is_open(msk(11, 3, 12))
    assert not hours.is_open(msk(11, 4, 12))
    assert hours.state(msk(11, 4, 12)) == "holiday"
    assert hours.is_open(msk(11, 5, 12))


def test_a_shop_closed_date_reads_as_holiday_and_a_sunday_as_closed() -> None:
    hours = shop()["shop-hours"]
    assert hours.state(msk(12, 30, 12)) == "holiday"
    assert hours.state(msk(11, 8, 12)) == "closed"  # an ordinary Sunday
    assert hours.state(msk(11, 3, 20)) == "closed"  # an ordinary evening


def test_shortened_new_years_eve_closes_at_15() -> None:
    hours = shop()["shop-hours"]
    assert hours.is_open(msk(12, 31, 14, 59))
    assert not hours.is_open(msk(12, 31, 15))
    assert hours.next_closing(msk(12, 31, 10)) == msk(12, 31, 15)


def test_working_saturday_keeps_weekday_hours() -> None:
    hours = shop()["shop-hours"]
    assert hours.is_open(msk(11, 28, 17))  # the working Saturday
    assert not hours.is_open(msk(11, 21, 17))  # a normal Saturday closes at 14:00
    assert hours.is_open(msk(11, 21, 11))


def test_holidays_none_keeps_the_line_open_on_public_holidays() -> None:
    hours = build(weekly={"mon-fri": "09:00-18:00"}, holidays="none")
    assert hours.state(msk(11, 4, 12)) == "open"


def test_holiday_calendar_is_built_once_per_year_per_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = ScheduleSpec.model_validate(
        {"timezone": "Europe/Moscow", "weekly": {"mon": "09:00-18:00"}}
    )
    first, second = Schedule.from_spec("a", spec), Schedule.from_spec("b", spec)
    real = holidays.country_holidays
    years: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        years.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(holidays, "country_holidays", counting)
    for day in range(1, 29):
        first.is_open(msk(2, day, 12))
    first.is_open(msk(2, 1, 12, year=2027))
    second.is_open(msk(2, 1, 12))
    assert years == [2026, 2027, 2026]


# --- ranges across midnight ------------------------------------------------------------


def test_night_shift_runs_across_midnight() -> None:
    night = shop()["night-shift"]
    assert night.is_open(msk(11, 10, 23, 30))
    assert night.is_open(msk(11, 11, 5, 59))
    assert not night.is_open(msk(11, 11, 6))
    assert not night.is_open(msk(11, 11, 21, 59))


def test_sunday_night_shift_wraps_into_monday_morning() -> None:
    sunday_only = build(weekly={"sun": "22:00-06:00"}, holidays=None)
    assert not sunday_only.is_open(msk(11, 8, 21, 59))  # Sunday
    assert sunday_only.is_open(msk(11, 8, 23, 30))
    assert sunday_only.is_open(msk(11, 9, 5, 59))  # Monday
    assert not sunday_only.is_open(msk(11, 9, 6))
    assert not sunday_only.is_open(msk(11, 9, 22, 30))  # Monday's own night: no shift
    assert sunday_only.is_open(msk(11, 16, 3))  # next Monday morning


def test_shift_started_before_a_holiday_finishes_but_none_starts_on_it() -> None:
    night = shop()["night-shift"]
    assert night.is_open(msk(11, 4, 5, 59))  # Nov 3's shift runs into Unity Day
    assert night.state(msk(11, 4, 23)) == "holiday"
    assert night.state(msk(11, 5, 3)) == "closed"  # no shift started on Unity Day
    assert night.is_open(msk(11, 5, 22))


def test_day_lists_and_wrapping_day_ranges() -> None:
    hours = build(weekly={"fri-mon": "10:00-11:00", "wed,thu": "12:00-13:00, 14:00-15:00"})
    assert hours.is_open(msk(11, 7, 10, 30))  # Saturday
    assert hours.is_open(msk(11, 9, 10, 30))  # Monday
    assert not hours.is_open(msk(11, 10, 10, 30))  # Tuesday
    assert hours.is_open(msk(11, 12, 14, 30))  # Thursday's second range


# --- next opening and closing ------------------------------------------------------------


def test_friday_evening_next_opening_is_monday_nine() -> None:
    weekdays = build(weekly={"mon-fri": "09:00-18:00"})
    opening = weekdays.next_opening(msk(11, 13, 19))
    assert opening == msk(11, 16, 9)
    assert opening is not None and opening.tzinfo == MSK


def test_next_opening_skips_a_holiday() -> None:
    hours = shop()["shop-hours"]
    assert hours.next_opening(msk(11, 3, 19)) == msk(11, 5, 9)


def test_next_closing_and_nothing_to_find() -> None:
    hours = shop()["shop-hours"]
    assert hours.next_closing(msk(11, 3, 10)) == msk(11, 3, 18)
    always = build(weekly={"mon-sun": "00:00-24:00"}, holidays="none")
    assert always.next_closing(msk(11, 3, 10)) is None
    assert always.next_opening(msk(11, 3, 10)) is None
    never = build(weekly={})
    assert never.next_opening(msk(11, 3, 10)) is None
    assert never.state(msk(11, 3, 10)) == "closed"


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        shop()["shop-hours"].is_open(datetime(2026, 11, 3, 12))


# --- open intervals ----------------------------------------------------------------------


def test_open_intervals_merge_touching_ranges_and_clip_to_the_window() -> None:
    hours = build(
        weekly={"sun": "22:00-24:00", "mon": ["00:00-06:00", "09:00-13:00", "13:00-18:00"]},
        holidays="none",
    )
    assert hours.open_intervals(msk(11, 8), msk(11, 10)) == [
        (msk(11, 8, 22), msk(11, 9, 6)),
        (msk(11, 9, 9), msk(11, 9, 18)),
    ]
    assert hours.open_intervals(msk(11, 9, 10), msk(11, 9, 12)) == [
        (msk(11, 9, 10), msk(11, 9, 12))
    ]
    assert hours.open_intervals(msk(11, 9, 12), msk(11, 9, 10)) == []


# --- time zones --------------------------------------------------------------------------


def test_moscow_keeps_utc_plus_three_all_year() -> None:
    hours = build(weekly={"mon-fri": "09:00-18:00"})
    for month, day in ((2, 2), (7, 6)):  # a winter and a summer Monday
        assert hours.is_open(datetime(2026, month, day, 6, 0, tzinfo=UTC))
        assert not hours.is_open(datetime(2026, month, day, 5, 59, tzinfo=UTC))
    opening = hours.next_opening(datetime(2026, 7, 6, 0, 0, tzinfo=UTC))
    assert opening is not None and opening.utcoffset() == timedelta(hours=3)


def test_berlin_spring_forward_night_is_an_hour_shorter() -> None:
    night = build("Europe/Berlin", weekly={"sat": "22:00-06:00"}, holidays=None)
    [(start, end)] = as_utc(
        night.open_intervals(datetime(2026, 3, 28, tzinfo=BER), datetime(2026, 3, 30, tzinfo=BER))
    )
    assert (start, end) == (
        datetime(2026, 3, 28, 21, tzinfo=UTC),
        datetime(2026, 3, 29, 4, tzinfo=UTC),
    )
    assert end - start == timedelta(hours=7)
    assert night.is_open(datetime(2026, 3, 29, 1, 59, tzinfo=BER))  # CET, just before the jump
    assert night.is_open(datetime(2026, 3, 29, 3, 0, tzinfo=BER))  # CEST, just after
    assert night.is_open(datetime(2026, 3, 29, 5, 59, tzinfo=BER))
    assert not night.is_open(datetime(2026, 3, 29, 6, 0, tzinfo=BER))


def test_berlin_fall_back_night_is_an_hour_longer_and_open_both_times_round() -> None:
    night = build("Europe/Berlin", weekly={"sat": "22:00-06:00"}, holidays=None)
    [(start, end)] = as_utc(
        night.open_intervals(datetime(2026, 10, 24, tzinfo=BER), datetime(2026, 10, 26, tzinfo=BER))
    )
    assert end - start == timedelta(hours=9)
    assert night.is_open(datetime(2026, 10, 25, 2, 30, tzinfo=BER, fold=0))  # CEST
    assert night.is_open(datetime(2026, 10, 25, 2, 30, tzinfo=BER, fold=1))  # CET
    assert not night.is_open(datetime(2026, 10, 25, 6, 0, tzinfo=BER))


def test_berlin_full_days_last_23_and_25_hours() -> None:
    days = build(
        "Europe/Berlin",
        exceptions={"2026-03-29": "00:00-24:00", "2026-10-25": "00:00-24:00"},
        holidays=None,
    )
    for month, day, hours in ((3, 29, 23), (10, 25, 25)):
        [(start, end)] = as_utc(
            days.open_intervals(
                datetime(2026, month, day - 1, tzinfo=BER),
                datetime(2026, month, day + 2, tzinfo=BER),
            )
        )
        assert end - start == timedelta(hours=hours)


def test_opening_time_skipped_by_spring_forward_opens_at_the_jump() -> None:
    hours = build("Europe/Berlin", exceptions={"2026-03-29": "02:30-04:00"}, holidays=None)
    opening = hours.next_opening(datetime(2026, 3, 29, 0, 0, tzinfo=BER))
    assert opening is not None
    assert utc(opening) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert opening.hour == 3 and opening.utcoffset() == timedelta(hours=2)
    assert not hours.is_open(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))


def test_repeated_opening_time_means_its_first_occurrence() -> None:
    hours = build("Europe/Berlin", exceptions={"2026-10-25": "02:30-05:00"}, holidays=None)
    opening = hours.next_opening(datetime(2026, 10, 25, 0, 0, tzinfo=BER))
    assert opening is not None
    assert utc(opening) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    # Once open it stays open when the clock shows 02:15 again (CET).
    assert hours.is_open(datetime(2026, 10, 25, 2, 15, tzinfo=BER, fold=1))
    assert not hours.is_open(datetime(2026, 10, 25, 2, 15, tzinfo=BER, fold=0))


# --- loading and validation messages -----------------------------------------------------


def test_the_documented_yaml_loads() -> None:
    schedules = shop()
    assert sorted(schedules) == ["night-shift", "shop-hours"]
    assert schedules["shop-hours"].zone == MSK


GOOD: dict[str, Any] = {"timezone": "Europe/Moscow", "weekly": {"mon-fri": "09:00-18:00"}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"weekly": {"mon-fri": "25:00-18:00"}},
            "schedule 'shop': weekly.mon-fri: '25:00' is not a time; write HH:MM, 00:00 to 24:00",
        ),
        (
            {"weekly": {"mon-fry": "09:00-18:00"}},
            "schedule 'shop': weekly: 'fry' in 'mon-fry' is not a day; write mon, tue, wed, "
            "thu, fri, sat or sun, a range like mon-fri or a list like sat,sun",
        ),
        (
            {"weekly": {"mon-fri": "09:00-18:00", "fri": "10:00-11:00"}},
            "schedule 'shop': weekly: 'fri' is given twice, in 'mon-fri' and 'fri'; "
            "give each day once",
        ),
        (
            {"weekly": {"sat": "9-18"}},
            "schedule 'shop': weekly.sat: '9-18' is not a time range; "
            "write HH:MM-HH:MM, e.g. 09:00-18:00",
        ),
        (
            {"weekly": {"sat": "10:00-10:00"}},
            "schedule 'shop': weekly.sat: '10:00-10:00' is empty; for a full day write 00:00-24:00",
        ),
        (
            {"timezone": "Europe/Moskow"},
            "schedule 'shop': timezone: 'Europe/Moskow' is not a known time zone; "
            "write an IANA name such as Europe/Moscow",
        ),
        (
            {"timezone": None},
            "schedule 'shop': timezone: None is not a time zone; "
            "write an IANA name such as Europe/Moscow",
        ),
        (
            {"weekdays": {"mon": "09:00-18:00"}},
            "schedule 'shop': unknown key 'weekdays'; "
            "expected timezone, weekly, holidays, closed, exceptions",
        ),
        (
            {"closed": ["2026-02-30"]},
            "schedule 'shop': closed[0]: '2026-02-30' is not a date; "
            "write YYYY-MM-DD, e.g. 2026-12-31",
        ),
        (
            {"holidays": {"country": "XX"}},
            "schedule 'shop': holidays: country 'XX' is not in the holidays calendar; "
            "write an ISO 3166 code such as RU",
        ),
        (
            {"holidays": {"country": "RU", "region": "MOW"}},
            "schedule 'shop': holidays: unknown key 'region'; expected country, subdivision",
        ),
        (
            {"closed": ["2026-12-31"], "exceptions": {"2026-12-31": "09:00-15:00"}},
            "schedule 'shop': '2026-12-31' is in both closed and exceptions; "
            "keep it in one of them",
        ),
    ],
)
def test_bad_specs_say_what_is_wrong(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        load_schedules({"shop": {**GOOD, **changes}})
    assert str(caught.value) == message


def test_missing_timezone_and_non_mapping_schedules_are_reported_together() -> None:
    with pytest.raises(ScheduleError) as caught:
        load_schedules({"a": {"weekly": {}}, "b": "09:00-18:00", "c": GOOD})
    assert caught.value.problems == (
        "schedule 'a': 'timezone' is missing; add it, e.g. timezone: Europe/Moscow",
        "schedule 'b': expected a mapping with keys timezone, weekly, holidays, closed, "
        "exceptions, got '09:00-18:00'",
    )
    assert isinstance(caught.value, ValueError)


# --- properties --------------------------------------------------------------------------

PROPERTY_SCHEDULES = {
    **shop(),
    "berlin-mixed": build(
        "Europe/Berlin",
        weekly={
            "mon-fri": ["09:00-13:00", "13:00-18:00"],
            "sat": "22:00-02:30",
            "sun": ["02:30-03:30", "23:00-24:00"],
        },
        holidays={"country": "DE", "subdivision": "BY"},
        exceptions={"2026-10-25": "00:00-24:00"},
    ),
}
DST_CHANGES = [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)]
ZONES = st.sampled_from([UTC, MSK, BER])
moments = st.one_of(
    st.datetimes(
        min_value=datetime(2025, 6, 1),
        max_value=datetime(2027, 6, 1),
        timezones=ZONES,
        allow_imaginary=False,
    ),
    st.builds(
        lambda change, shift, zone: (change + shift).astimezone(zone),
        st.sampled_from(DST_CHANGES),
        st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)),
        ZONES,
    ),
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(PROPERTY_SCHEDULES)), at=moments)
def test_is_open_agrees_with_intervals_and_next_changes(name: str, at: datetime) -> None:
    sched = PROPERTY_SCHEDULES[name]
    moment = utc(at)
    around = as_utc(sched.open_intervals(moment - timedelta(days=2), moment + timedelta(days=2)))
    assert all(start < end for start, end in around)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(around))  # merged
    assert sched.is_open(at) == any(start <= moment < end for start, end in around)

    if sched.is_open(at):
        change, expect_between = sched.next_closing(at), True
    else:
        change, expect_between = sched.next_opening(at), False
    if change is None:
        return
    assert change.tzinfo == sched.zone
    change = utc(change)
    assert change > moment
    assert sched.is_open(change) is not expect_between
    assert sched.is_open(change - timedelta(microseconds=1)) is expect_between
    for step in range(8):
        assert sched.is_open(moment + (change - moment) * step / 8) is expect_between
