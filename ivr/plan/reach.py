"""Which queues callers can reach at a given moment: every plan walked from `start`, each
`when` decided by what the clock alone settles (schedules, date, weekday) and every other
test (the caller, a variable) taken both ways. For `ivr check --coverage`.

A queue reached only in a closed or holiday branch counts in the hours that branch is
taken; a queue's `exit` and overflow `goto` nodes are followed too, since callers leave for
them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ivr.plan.cases import WEEKDAYS, Case
from ivr.plan.handoffs import QueueNode
from ivr.plan.nodes import WhenNode
from ivr.plan.plan import Plan, PlanBook
from ivr.plan.targets import node_targets, other_plan_target
from ivr.schedule.schedule import Schedule, ScheduleState

# How a walk asks a schedule's state; the coverage sweep passes a faster one of its own.
StateOf = Callable[[Schedule, datetime], ScheduleState]


def _state(schedule: Schedule, at: datetime) -> ScheduleState:
    return schedule.state(at)


class Reach:
    """The queues a book's callers can reach, by moment; walks are cached by what the clock
    decides (schedule states, and the date where a plan tests dates or weekdays)."""

    def __init__(self, book: PlanBook) -> None:
        self._book = book
        self._plans = {plan.name: plan for plan in book.plans}
        self._queues = {queue.name: queue for queue in book.queue_specs()}
        tested: dict[tuple[str, str], Schedule] = {}
        self._dated: list[Plan] = []
        for plan in book.plans:
            cases = [
                c for n in plan.spec.nodes.values() if isinstance(n, WhenNode) for c in n.cases
            ]
            for case in cases:
                found = plan.schedules.get(case.schedule) if case.schedule else None
                if found is not None:
                    tested[(plan.name, case.schedule or "")] = found
            if any(case.date is not None or case.weekday is not None for case in cases):
                self._dated.append(plan)
        self._tested = tested
        self._cache: dict[tuple[object, ...], frozenset[str]] = {}

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        """Every schedule a `when` case tests: its changes may change what callers reach."""
        return tuple(self._tested.values())

    @property
    def zones(self) -> tuple[ZoneInfo, ...]:
        """The plans' time zones (dates and weekdays change at their midnights)."""
        return tuple(dict.fromkeys(ZoneInfo(p.spec.timezone) for p in self._book.plans))

    def queues(self, at: datetime, state: StateOf = _state) -> frozenset[str]:
        """Names of the queues some caller can reach at `at`."""
        states = {key: state(schedule, at) for key, schedule in self._tested.items()}
        dates = tuple(at.astimezone(ZoneInfo(p.spec.timezone)).date() for p in self._dated)
        key = (tuple(states.values()), dates)
        found = self._cache.get(key)
        if found is None:
            found = self._walk(states, at)
            self._cache[key] = found
        return found

    def _walk(self, states: dict[tuple[str, str], ScheduleState], at: datetime) -> frozenset[str]:
        todo = [(plan.name, "start") for plan in self._book.plans if "start" in plan.spec.nodes]
        seen = set(todo)
        reached: set[str] = set()
        while todo:
            plan_name, name = todo.pop()
            plan = self._plans[plan_name]
            for target in self._next(plan, name, states, at, reached):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return frozenset(reached)

    def _next(
        self,
        plan: Plan,
        name: str,
        states: dict[tuple[str, str], ScheduleState],
        at: datetime,
        reached: set[str],
    ) -> list[tuple[str, str]]:
        node = plan.spec.nodes[name]
        targets: list[str]
        if isinstance(node, WhenNode):
            targets = _when_targets(plan, node, states, at)
        else:
            targets = [target for _, target in node_targets(node)]
        if isinstance(node, QueueNode):
            reached.add(node.queue)
            spec = self._queues.get(node.queue)
            if spec is not None:
                # Callers leave a queue for its exit and overflow gotos, in the plan they are in.
                targets += [spec.exit] if spec.exit else []
                targets += [step.goto for step in spec.overflow if step.goto]
        found = [(plan.name, t) for t in targets if t in plan.spec.nodes]
        other = other_plan_target(node)
        if other is not None and other[0] in self._plans:
            found.append(other)
        return found


def _when_targets(
    plan: Plan, node: WhenNode, states: dict[tuple[str, str], ScheduleState], at: datetime
) -> list[str]:
    """The branches a `when` may take at `at`: cases the clock settles are followed or
    skipped; a case that also tests the caller or a variable may go either way."""
    today = at.astimezone(ZoneInfo(plan.spec.timezone)).date()
    targets: list[str] = []
    for case in node.cases:
        holds = _holds(plan, case, states, today)
        if holds is False:
            continue
        targets.append(case.then)
        if holds is True:
            return targets
    targets.append(node.else_)
    return targets


def _holds(
    plan: Plan, case: Case, states: dict[tuple[str, str], ScheduleState], today: date
) -> bool | None:
    """True or False when the clock settles the case, None when the caller might tip it."""
    if case.schedule is not None and states.get((plan.name, case.schedule)) != case.is_:
        return False
    if case.date is not None and today not in case.date:
        return False
    if case.weekday is not None and WEEKDAYS[today.weekday()] not in case.weekday:
        return False
    callers = (case.caller_in, case.caller_withheld, case.caller_prefix, case.var)
    return None if any(test is not None for test in callers) else True
