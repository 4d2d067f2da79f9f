"""A loaded, checked plan: immutable, with its file and a version to tell reloads apart."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.plan.model import Node, PlanSpec


@dataclass(frozen=True)
class Plan:
    """A plan ready to serve calls."""

    spec: PlanSpec
    file: str
    version: str

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
