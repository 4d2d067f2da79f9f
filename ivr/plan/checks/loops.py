"""Where callers can go: every node is reached, every loop has a way out and says something."""

from __future__ import annotations

from ivr.plan.errors import Problem
from ivr.plan.handoffs import HANDOFFS
from ivr.plan.nodes import (
    CollectNode,
    GotoNode,
    HangupNode,
    LanguageNode,
    MenuNode,
    Node,
    TagNode,
    WhenNode,
)
from ivr.plan.source import Source
from ivr.plan.spec import PlanSpec
from ivr.plan.targets import node_targets, other_plan_target

# Node kinds that end the plan's part of the call (the rest of the journey is the PBX's).
TERMINALS = (HangupNode, *HANDOFFS)


def check_loops(spec: PlanSpec, source: Source, entries: set[str]) -> list[Problem]:
    """Nodes no entry reaches, loops with no way out, loops that pass callers round at once.

    Only for plans whose targets all exist.
    """
    problems: list[Problem] = []
    names = list(spec.nodes)
    reachable = _reachable(spec, entries & set(spec.nodes))
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
    for loop in _instant_loops(spec):
        first = loop[0]
        if first in stuck or first not in reachable:
            continue
        problems.append(
            source.problem(
                ("nodes", first),
                f"callers who reach '{first}' can loop through "
                + " -> ".join(f"'{n}'" for n in [*loop, first])
                + " at once, hearing nothing",
                "put a play, menu or collect in the loop, or lead it elsewhere",
            )
        )
    return problems


def _reachable(spec: PlanSpec, entries: set[str]) -> set[str]:
    seen = set(entries)
    todo = list(entries)
    while todo:
        for _, target in node_targets(spec.nodes[todo.pop()]):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _without_way_out(spec: PlanSpec) -> set[str]:
    """Nodes from which no terminal node (and no give-up) can ever be reached.

    One walk backwards from the ways out over reversed branches: linear in the plan's size.
    """
    leads_here: dict[str, list[str]] = {}
    for name, node in spec.nodes.items():
        for _, target in node_targets(node):
            leads_here.setdefault(target, []).append(name)
    done = {name for name, node in spec.nodes.items() if _ends(node)}
    todo = list(done)
    while todo:
        for source in leads_here.get(todo.pop(), ()):
            if source not in done:
                done.add(source)
                todo.append(source)
    return set(spec.nodes) - done


def _ends(node: Node) -> bool:
    # A menu or collect whose retries run out without an `exhausted` target says goodbye, and a
    # goto into another plan leaves this one (that plan's own check covers it): ways out.
    if isinstance(node, TERMINALS) or other_plan_target(node) is not None:
        return True
    return isinstance(node, MenuNode | CollectNode) and node.exhausted is None


def _instant(node: Node) -> bool:
    """Nodes that pass the call on at once, saying nothing and waiting for nothing."""
    return isinstance(node, GotoNode | TagNode | WhenNode) or (
        isinstance(node, LanguageNode) and node.set is not None
    )


def _instant_loops(spec: PlanSpec) -> list[list[str]]:
    """Cycles made only of instant nodes (Tarjan's strongly connected components).

    Walked with a stack of its own: a chain of a thousand gotos must not exhaust Python's.
    """
    edges = {
        name: [t for _, t in node_targets(node) if _instant(spec.nodes[t])]
        for name, node in spec.nodes.items()
        if _instant(node)
    }
    order = {name: i for i, name in enumerate(spec.nodes)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        # (node, position of the next branch to follow)
        walk: list[tuple[str, int]] = [(root, 0)]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while walk:
            name, at = walk[-1]
            targets = edges[name]
            if at < len(targets):
                walk[-1] = (name, at + 1)
                target = targets[at]
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    walk.append((target, 0))
                elif target in on_stack:
                    low[name] = min(low[name], index[target])
                continue
            walk.pop()
            if walk:
                parent = walk[-1][0]
                low[parent] = min(low[parent], low[name])
            if low[name] == index[name]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == name:
                        break
                if len(component) > 1 or name in targets:
                    loops.append(_in_walk_order(component, edges, order))
    return sorted(loops, key=lambda loop: order[loop[0]])


def _in_walk_order(
    component: list[str], edges: dict[str, list[str]], order: dict[str, int]
) -> list[str]:
    """The loop's nodes as a caller walks them, from the one written first in the file."""
    members = set(component)
    walk = [min(component, key=order.__getitem__)]
    walked = {walk[0]}
    while True:
        following = [t for t in edges[walk[-1]] if t in members and t not in walked]
        if not following:
            return walk
        walk.append(following[0])
        walked.add(following[0])
