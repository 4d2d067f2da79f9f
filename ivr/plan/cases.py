"""What one case of a `when` node tests: a schedule, the caller, a call variable, the date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, model_validator

from ivr.plan.fields import NodeName, Numbers, PlanModel, Text, VarName, as_list

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Monday first, as date.weekday() counts.
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)


class Case(PlanModel):
    """One branch of `when`: every test given must hold."""

    schedule: NodeName | None = Field(None, description="a schedule in schedules:")
    is_: Literal["open", "closed", "holiday"] = Field("open", alias="is")
    caller_in: NodeName | None = Field(None, description="a list in callers:")
    caller_withheld: bool | None = Field(None, description="the caller's number is hidden")
    caller_prefix: Numbers | None = None
    var: VarName | None = Field(None, description="a call variable, tested by equals/in/matches")
    equals: Text | None = None
    in_: (
        Annotated[
            list[Text],
            BeforeValidator(as_list, json_schema_input_type=list[str | int | float | bool]),
        ]
        | None
    ) = Field(None, alias="in")
    matches: str | None = Field(None, description="a regular expression the whole value matches")
    date: (
        Annotated[
            list[dt.date], BeforeValidator(as_list, json_schema_input_type=dt.date | list[dt.date])
        ]
        | None
    ) = Field(None, description="today is one of these dates (in the plan's time zone)")
    weekday: (
        Annotated[
            list[Weekday], BeforeValidator(as_list, json_schema_input_type=Weekday | list[Weekday])
        ]
        | None
    ) = None
    then: NodeName

    @model_validator(mode="before")
    @classmethod
    def _schedule_state(cls, value: Any) -> Any:
        if isinstance(value, dict) and "is" in value and "schedule" not in value:
            raise ValueError("'is' tests a schedule: add schedule: NAME")
        return value

    @model_validator(mode="after")
    def _one_test_each(self) -> Case:
        callers = (self.caller_in, self.caller_withheld, self.caller_prefix)
        tests = (self.var, self.equals, self.in_, self.matches)
        if all(t is None for t in (self.schedule, *callers, self.date, self.weekday, *tests)):
            raise ValueError(
                "the case tests nothing: give schedule, caller_in, caller_withheld, "
                "caller_prefix, var (with equals, in or matches), date or weekday"
            )
        given = sum(t is not None for t in tests[1:])
        if self.var is None and given:
            raise ValueError("equals, in and matches test a variable: add var: NAME")
        if self.var is not None and given != 1:
            raise ValueError(f"var '{self.var}' needs exactly one of equals, in or matches")
        return self
