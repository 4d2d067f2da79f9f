"""One schedule as ops staff write it in YAML: zone, weekly hours, holidays, closed days and
exceptions, validated."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator, model_validator

from ivr.schedule.holidays import HolidaySpec
from ivr.schedule.hours import DAY_NAMES, TimeRange
from ivr.schedule.parse import parse_date, parse_days, parse_ranges, parse_zone, problem

Ranges = Annotated[tuple[TimeRange, ...], PlainValidator(parse_ranges)]
DayKey = Annotated[tuple[str, frozenset[int]], PlainValidator(parse_days)]
DateValue = Annotated[date, PlainValidator(parse_date)]
ZoneName = Annotated[str, PlainValidator(parse_zone)]


class ScheduleSpec(BaseModel):
    """One named schedule as ops staff write it in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: ZoneName
    weekly: dict[DayKey, Ranges] = Field(default_factory=dict)
    holidays: HolidaySpec | None = Field(default_factory=HolidaySpec)
    closed: tuple[DateValue, ...] = ()
    exceptions: dict[DateValue, Ranges] = Field(default_factory=dict)

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays_off(cls, value: object) -> object:
        # `holidays: none` (YAML text), `holidays: null` and `holidays: false` all disable.
        if value is None or value is False:
            return None
        if isinstance(value, str):
            if value.strip().lower() == "none":
                return None
            raise problem(f"'{value}' is not understood; write {{country: RU}} or none")
        return value

    @field_validator("exceptions", mode="before")
    @classmethod
    def _date_keys_as_text(cls, value: object) -> object:
        # Error locations show keys with repr(); ISO text reads better than datetime.date(...).
        if not isinstance(value, dict):
            return value
        return {_iso_if_date(key): ranges for key, ranges in value.items()}

    @field_validator("weekly")
    @classmethod
    def _each_day_once(
        cls, value: dict[tuple[str, frozenset[int]], tuple[TimeRange, ...]]
    ) -> dict[tuple[str, frozenset[int]], tuple[TimeRange, ...]]:
        owner: dict[int, str] = {}
        for key, days in value:
            for day in sorted(days):
                if day in owner:
                    raise problem(
                        f"'{DAY_NAMES[day]}' is given twice, in '{owner[day]}' and '{key}'; "
                        "give each day once"
                    )
                owner[day] = key
        return value

    @model_validator(mode="after")
    def _closed_or_exception(self) -> ScheduleSpec:
        for day in self.closed:
            if day in self.exceptions:
                raise problem(
                    f"'{day.isoformat()}' is in both closed and exceptions; keep it in one of them"
                )
        return self


def _iso_if_date(key: object) -> object:
    if isinstance(key, date) and not isinstance(key, datetime):
        return key.isoformat()
    return key
