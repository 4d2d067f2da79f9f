"""The when node: the first case whose tests all hold gives the next node, else `else`."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.calls.call import Call
from ivr.calls.step import Step
from ivr.plan.cases import WEEKDAYS, Case
from ivr.plan.nodes import WhenNode


def enter(call: Call, node: WhenNode, now: float) -> Step:
    """Decide at once; `now` (the injected clock's) answers schedule, date and weekday tests."""
    moment = datetime.fromtimestamp(now, ZoneInfo(call.plan.spec.timezone))
    for index, case in enumerate(node.cases, 1):
        if holds(call, case, moment):
            note = call.note("when", node=call.node, case=str(index), target=case.then)
            return Step([note], case.then)
    return Step([call.note("when", node=call.node, case="else", target=node.else_)], node.else_)


def holds(call: Call, case: Case, moment: datetime) -> bool:
    """True when every test the case gives holds for the call at `moment`."""
    caller = call.caller.number.removeprefix("+")
    checks: list[bool] = []
    if case.schedule is not None:
        schedule = call.plan.schedules.get(case.schedule)
        checks.append(schedule is not None and schedule.state(moment) == case.is_)
    if case.caller_in is not None:
        listed = {n.removeprefix("+") for n in call.plan.spec.callers.get(case.caller_in, [])}
        checks.append(bool(caller) and caller in listed)
    if case.caller_withheld is not None:
        checks.append((not caller) == case.caller_withheld)
    if case.caller_prefix is not None:
        prefixes = [p.removeprefix("+") for p in case.caller_prefix]
        checks.append(bool(caller) and caller.startswith(tuple(prefixes)))
    if case.var is not None:
        value = call.var(case.var)
        if case.equals is not None:
            checks.append(value == case.equals)
        elif case.in_ is not None:
            checks.append(value in case.in_)
        elif case.matches is not None:
            checks.append(re.fullmatch(case.matches, value) is not None)
    if case.date is not None:
        checks.append(moment.date() in case.date)
    if case.weekday is not None:
        checks.append(WEEKDAYS[moment.weekday()] in case.weekday)
    return all(checks)
