"""Checks beyond the schema: targets exist, nodes are reachable, every loop has a way out."""

from __future__ import annotations

import difflib

from ivr.plan.errors import Problem
from ivr.plan.model import HangupNode, PlanSpec, node_targets
from ivr.plan.source import Source

# Node kinds that end the plan's part of the call (the rest of the journey is the PBX's).
TERMINALS = (HangupNode,)


def check_plan(spec: PlanSpec, source: Source) -> list[Problem]:
    """Every semantic problem of one plan, errors and warnings alike."""
    problems: list[Problem] = []
    names = list(spec.nodes)
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
                label = _describe(path)
                problems.append(
                    source.problem(
                        ("nodes", name, *path),
                        f"{label} goes to '{target}': no such node",
                        _did_you_mean(target, names),
                    )
                )
    if problems:
        return problems
    reachable = _reachable(spec, "start")
    for name in names:
        if name not in reachable:
            problems.append(
                source.problem(
                    ("nodes", name),
                    f"node '{name}' cannot be reached from 'start'",
                    "link it from a menu option or another node's next, or delete it",
                    warning=True,
                )
            )
    stuck = _without_way_out(spec)
    for name in names:
        if name in stuck and name in reachable:
            problems.append(
                source.problem(
                    ("nodes", name),
                    f"callers who reach '{name}' go round in a loop that never ends",
                    "give the loop a way out: a menu option or an 'exhausted' branch that leads "
                    "to a hangup, queue or transfer",
                )
            )
    return problems


def _describe(path: tuple[str | int, ...]) -> str:
    if path and path[0] == "options":
        return f"option '{path[1]}'"
    return f"'{path[0]}'"


def _did_you_mean(target: str, names: list[str]) -> str:
    close = difflib.get_close_matches(target, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known nodes: " + ", ".join(sorted(names))


def _reachable(spec: PlanSpec, start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for _, target in node_targets(spec.nodes[todo.pop()]):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _without_way_out(spec: PlanSpec) -> set[str]:
    """Nodes from which no terminal node (and no menu give-up) can ever be reached."""
    # A menu whose retries run out without an `exhausted` target says goodbye: a way out.
    done = {
        name
        for name, node in spec.nodes.items()
        if isinstance(node, TERMINALS) or (node.type == "menu" and node.exhausted is None)
    }
    changed = True
    while changed:
        changed = False
        for name, node in spec.nodes.items():
            if name not in done and any(t in done for _, t in node_targets(node)):
                done.add(name)
                changed = True
    return set(spec.nodes) - done
