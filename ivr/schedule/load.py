"""Every schedule of the configuration at once, with every problem in words ops staff can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ivr.schedule.holidays import HolidaySpec
from ivr.schedule.schedule import Schedule
from ivr.schedule.spec import ScheduleSpec


class ScheduleError(ValueError):
    """A schedule in the configuration is wrong; the message names it and says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def load_schedules(mapping: Mapping[str, Any]) -> dict[str, Schedule]:
    """Build every schedule from the parsed `schedules:` mapping (name -> schedule).

    Raises ScheduleError listing every problem, each naming its schedule.
    """
    if not isinstance(mapping, Mapping):
        raise ScheduleError(
            [f"schedules: expected a mapping of names to schedules, got {mapping!r}"]
        )
    problems: list[str] = []
    schedules: dict[str, Schedule] = {}
    for name, raw in mapping.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(f"schedule {name!r}: a schedule name must be non-empty text")
            continue
        try:
            spec = ScheduleSpec.model_validate(raw)
        except ValidationError as error:
            problems.extend(f"schedule '{name}': {_describe(item)}" for item in error.errors())
            continue
        schedules[name] = Schedule.from_spec(name, spec)
    if problems:
        raise ScheduleError(problems)
    return schedules


_KEYS_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): ScheduleSpec,
    ("holidays",): HolidaySpec,
}

_MISSING_HINTS = {"timezone": "add it, e.g. timezone: Europe/Moscow"}


def _describe(item: Mapping[str, Any]) -> str:
    """One pydantic error as '<where>: <problem>' in words ops staff can act on."""
    loc: tuple[str | int, ...] = tuple(item["loc"])
    kind: str = item["type"]
    if kind == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        known = _KEYS_AT.get(tuple(str(part) for part in parent))
        expected = f"; expected {', '.join(known.model_fields)}" if known else ""
        return _with_where(parent, f"unknown key '{key}'{expected}")
    if kind == "missing":
        hint = _MISSING_HINTS.get(str(loc[-1]), "add it")
        return _with_where(loc[:-1], f"'{loc[-1]}' is missing; {hint}")
    if kind in ("model_type", "dict_type"):
        known = _KEYS_AT.get(tuple(str(part) for part in loc))
        keys = f" with keys {', '.join(known.model_fields)}" if known else ""
        return _with_where(loc, f"expected a mapping{keys}, got {item['input']!r}")
    if kind in ("tuple_type", "list_type"):
        return _with_where(loc, f"expected a list, got {item['input']!r}")
    return _with_where(loc, str(item["msg"]))


def _with_where(loc: tuple[str | int, ...], message: str) -> str:
    # A bad dict key is reported at its mapping: the message already quotes the key.
    if loc and loc[-1] == "[key]":
        loc = loc[:-2]
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else f"{'.' if where else ''}{part}"
    return f"{where}: {message}" if where else message
