"""Opening hours, public holidays, weekends and nights for a shop's phone line.

A pure package: it never reads the clock. Every question takes the moment `at` as an aware
datetime, and all arithmetic is done on UTC instants, because aware datetimes that share a
ZoneInfo compare and subtract as wall-clock times and would get DST days wrong.

Conventions (ops staff write wall-clock times in the schedule's zone):
- A range "HH:MM-HH:MM" is half-open: open at the start, closed at the end.
- A range whose end is not after its start runs across midnight and belongs to
  the day it starts on; "00:00-24:00" is a full day.
- A wall-clock time that happens twice (clocks go back) means its first
  occurrence, as zoneinfo's fold=0 does; a time that never happens (clocks jump
  forward over it) means the moment of the jump, when the clock first shows a
  later time.

Where things live: spec.py (the YAML models) reads its fields with parse.py into the values
of hours.py; holidays.py knows the public-holiday calendars; schedule.py compiles a spec into
a `Schedule` that answers open/closed and next opening/closing, with wallclock.py turning
wall-clock times into instants; load.py builds every schedule and words every problem.
The names below are the package's public face.
"""

from ivr.schedule.holidays import HolidaySpec
from ivr.schedule.hours import TimeRange
from ivr.schedule.load import ScheduleError, load_schedules
from ivr.schedule.schedule import SEARCH_DAYS, Schedule, ScheduleState
from ivr.schedule.spec import ScheduleSpec

__all__ = [
    "SEARCH_DAYS",
    "HolidaySpec",
    "Schedule",
    "ScheduleError",
    "ScheduleSpec",
    "ScheduleState",
    "TimeRange",
    "load_schedules",
]
