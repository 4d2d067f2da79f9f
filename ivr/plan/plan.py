"""A loaded, checked plan: immutable, with its file and a version to tell reloads apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.plan.nodes import Node
from ivr.plan.queues import QueueSpec
from ivr.plan.source import Source
from ivr.plan.spec import PlanSpec
from ivr.schedule.schedule import Schedule


@dataclass(frozen=True)
class Plan:
    """A plan ready to serve calls."""

    spec: PlanSpec
    file: str
    version: str
    schedules: Mapping[str, Schedule] = field(default_factory=dict, compare=False)
    # Kept so checks across plans (a goto into another plan) can name file:line:column.
    source: Source | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def node(self, name: str) -> Node:
        """The node called `name` (the checks guarantee every target exists)."""
        return self.spec.nodes[name]


@dataclass(frozen=True)
class PlanBook:
    """All live plans, by the numbers they answer."""

    plans: tuple[Plan, ...]

    def for_number(self, number: str) -> Plan | None:
        """The plan answering `number`, if any."""
        for plan in self.plans:
            if number in plan.spec.numbers:
                return plan
        return None

    def named(self, name: str) -> Plan | None:
        """The plan called `name`, if any (plan names are unique within a book)."""
        for plan in self.plans:
            if plan.name == name:
                return plan
        return None

    def queue_specs(self) -> list[QueueSpec]:
        """Every queue defined in the plans' `queues:` sections."""
        return [queue for plan in self.plans for queue in plan.spec.queues.values()]
