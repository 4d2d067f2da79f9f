"""Public holidays: which calendar closes the line (RU unless told), and its days off."""

from __future__ import annotations

from datetime import date

import holidays as holiday_calendars
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ivr.schedule.parse import problem


class HolidaySpec(BaseModel):
    """Which public-holiday calendar closes the line (from the `holidays` package)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = "RU"
    subdivision: str | None = None

    @field_validator("country", mode="before")
    @classmethod
    def _upper_country(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known_calendar(self) -> HolidaySpec:
        # Asked by name first: the package looks countries up as attributes of its module,
        # so a name such as JAN or UTILS would reach a constant or a submodule, not a calendar.
        supported: dict[str, list[str]] = holiday_calendars.list_supported_countries()
        if self.country not in supported:
            raise problem(self._unknown_calendar(supported))
        try:
            holiday_calendars.country_holidays(self.country, subdiv=self.subdivision)
        except (NotImplementedError, TypeError, ValueError, KeyError, AttributeError):
            raise problem(self._unknown_calendar(supported)) from None
        return self

    def _unknown_calendar(self, supported: dict[str, list[str]]) -> str:
        if self.country not in supported:
            shown = self.country if len(self.country) <= 20 else self.country[:17] + "..."
            return (
                f"country '{shown}' is not in the holidays calendar; "
                "write an ISO 3166 code such as RU"
            )
        known = supported[self.country]
        if not known:
            return (
                f"subdivision '{self.subdivision}' is unknown; {self.country} has no "
                "subdivisions, write subdivision: null"
            )
        return (
            f"subdivision '{self.subdivision}' is not a subdivision of {self.country}; "
            f"expected one of {', '.join(known)}"
        )


def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of one calendar in one year."""
    calendar = holiday_calendars.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset[date](calendar.keys())
