"""Every node a plan leads to exists: `start`, the nodes' branches, the queues' exits."""

from __future__ import annotations

from ivr.plan.checks.suggest import Suggester
from ivr.plan.errors import Problem
from ivr.plan.source import Path, Source
from ivr.plan.spec import PlanSpec
from ivr.plan.targets import node_targets


def check_targets(spec: PlanSpec, source: Source) -> list[Problem]:
    """A missing `start`, and every branch or queue exit that names no node of the plan."""
    problems: list[Problem] = []
    suggest = Suggester(spec.nodes, "known nodes")
    if "start" not in spec.nodes:
        problems.append(
            source.problem(
                ("nodes",),
                "there is no node called 'start'",
                "name the first node callers reach 'start'",
            )
        )
    for name, node in spec.nodes.items():
        for path, target in node_targets(node):
            if target not in spec.nodes:
                problems.append(
                    source.problem(
                        ("nodes", name, *path),
                        f"{_describe(path)} goes to '{target}': no such node",
                        suggest(target),
                    )
                )
    for queue, where, what, target in _queue_targets(spec):
        if target not in spec.nodes:
            problems.append(
                source.problem(
                    ("queues", queue, *where),
                    f"queue '{queue}' {what} goes to '{target}': no such node",
                    suggest(target),
                )
            )
    return problems


def queue_exits(spec: PlanSpec) -> set[str]:
    """Nodes named as a queue's `exit` or overflow `goto` (the routing engine sends callers)."""
    return {target for *_, target in _queue_targets(spec) if target in spec.nodes}


def _queue_targets(spec: PlanSpec) -> list[tuple[str, Path, str, str]]:
    """(queue, path in its settings, what the path is, target) for every node queues name."""
    found: list[tuple[str, Path, str, str]] = []
    for queue, settings in spec.queues.items():
        if settings.exit is not None:
            found.append((queue, ("exit",), "exit", settings.exit))
        for index, step in enumerate(settings.overflow):
            if step.goto is not None:
                found.append(
                    (queue, ("overflow", index, "goto"), f"overflow step {index + 1}", step.goto)
                )
    return found


def _describe(path: Path) -> str:
    match path:
        case ("options", digits):
            return f"option '{digits}'"
        case ("route", "cases", value):
            return f"route case '{value}'"
        case ("route", "default"):
            return "route 'default'"
        case ("cases", int(index), "then"):
            return f"case {index + 1}"
    return f"'{path[0]}'"
