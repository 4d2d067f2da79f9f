"""Checks across the plans of a book: numbers and names they share, gotos into each other."""

from __future__ import annotations

from collections.abc import Iterable

from ivr.plan.checks.suggest import Suggester
from ivr.plan.errors import Problem
from ivr.plan.plan import Plan
from ivr.plan.source import Path
from ivr.plan.spec import PlanSpec
from ivr.plan.targets import other_plan_target


def check_book(plans: list[Plan]) -> list[Problem]:
    """Problems between plans: shared numbers and names, gotos into other plans."""
    problems: list[Problem] = []
    by_name: dict[str, Plan] = {}
    owner: dict[str, Plan] = {}
    for plan in plans:
        if plan.name in by_name:
            problems.append(
                _at(
                    plan,
                    ("name",),
                    f"plan name '{plan.name}' is also the name of {by_name[plan.name].file}",
                    "give each plan its own name: `goto: plan:node` finds plans by name",
                )
            )
        else:
            by_name[plan.name] = plan
        for index, number in enumerate(plan.spec.numbers):
            if number in owner:
                problems.append(
                    _at(
                        plan,
                        ("numbers", index),
                        f"number {number} is claimed by plan '{owner[number].name}' "
                        f"({owner[number].file}) and by plan '{plan.name}'",
                        "a number can ring into one plan only: remove it from one of them",
                    )
                )
            else:
                owner[number] = plan
    plan_names = Suggester(by_name, "known plans")
    node_names: dict[str, Suggester] = {}
    for plan in plans:
        for name, node in plan.spec.nodes.items():
            target = other_plan_target(node)
            if target is None:
                continue
            other_name, node_name = target
            path = ("nodes", name, "target")
            other = by_name.get(other_name)
            if other is None:
                problems.append(
                    _at(
                        plan,
                        path,
                        f"'target' goes to plan '{other_name}', which is not among the plans "
                        "checked",
                        plan_names(other_name)
                        + "; check every plan together: ivr check dialplans/",
                    )
                )
            elif node_name not in other.spec.nodes:
                suggest = node_names.setdefault(
                    other_name, Suggester(other.spec.nodes, "known nodes")
                )
                problems.append(
                    _at(
                        plan,
                        path,
                        f"'target' goes to '{other_name}:{node_name}': plan '{other_name}' has "
                        "no such node",
                        suggest(node_name),
                    )
                )
    return problems


def entries_from(specs: Iterable[PlanSpec]) -> dict[str, set[str]]:
    """For each plan name, the nodes that gotos of other plans lead to."""
    entries: dict[str, set[str]] = {}
    for spec in specs:
        for node in spec.nodes.values():
            target = other_plan_target(node)
            if target is not None:
                entries.setdefault(target[0], set()).add(target[1])
    return entries


def _at(plan: Plan, path: Path, message: str, fix: str) -> Problem:
    if plan.source is not None:
        return plan.source.problem(path, message, fix)
    return Problem(plan.file, 1, 1, message, fix)
