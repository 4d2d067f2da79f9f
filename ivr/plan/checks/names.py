"""The queues, schedules and caller lists that nodes name are defined in the plan's tables."""

from __future__ import annotations

from collections.abc import Collection

from ivr.plan.checks.suggest import Suggester
from ivr.plan.errors import Problem
from ivr.plan.handoffs import CallbackNode, QueueNode, VoicemailNode
from ivr.plan.nodes import WhenNode
from ivr.plan.source import Path, Source
from ivr.plan.spec import PlanSpec


def check_names(spec: PlanSpec, source: Source) -> list[Problem]:
    """Every use of a queue, schedule or caller list that the plan does not define."""
    problems: list[Problem] = []
    suggesters: dict[str, Suggester] = {}

    def need(path: Path, what: str, name: str, table: Collection[str], where: str) -> None:
        if name not in table:
            suggest = suggesters.setdefault(where, Suggester(table, f"defined {where}"))
            problems.append(
                source.problem(
                    path,
                    f"{what} '{name}' is not defined in {where}:",
                    (suggest(name) if table else f"add it under {where}: at the top of the plan"),
                )
            )

    for name, node in spec.nodes.items():
        at: Path = ("nodes", name)
        queue = node.queue if isinstance(node, QueueNode | CallbackNode | VoicemailNode) else None
        if queue is not None:
            need((*at, "queue"), "queue", queue, spec.queues, "queues")
        elif isinstance(node, WhenNode):
            for index, case in enumerate(node.cases):
                if case.schedule is not None:
                    path = (*at, "cases", index, "schedule")
                    need(path, "schedule", case.schedule, spec.schedules, "schedules")
                if case.caller_in is not None:
                    path = (*at, "cases", index, "caller_in")
                    need(path, "caller list", case.caller_in, spec.callers, "callers")
    return problems
