"""Checks beyond the schema: targets exist, names are defined, loops have a way out.

`check_plan` looks at one plan; `check_book` at what plans share (numbers, names, gotos).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from ivr.plan.errors import Problem
from ivr.plan.model import (
    BUILTIN_VARS,
    NODE_NAME,
    CallbackNode,
    CollectNode,
    GotoNode,
    HangupNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    Node,
    Path,
    PlanSpec,
    QueueNode,
    SurveyNode,
    TagNode,
    TransferNode,
    VoicemailNode,
    WhenNode,
    node_targets,
    other_plan_target,
    prompt_lists,
)
from ivr.plan.plan import Plan
from ivr.plan.queues import QueueSpec
from ivr.plan.source import Source

# Node kinds that end the plan's part of the call (the rest of the journey is the PBX's).
TERMINALS = (HangupNode, QueueNode, TransferNode, VoicemailNode, CallbackNode, SurveyNode)


def check_plan(spec: PlanSpec, source: Source, entries: Collection[str] = ()) -> list[Problem]:
    """Every semantic problem of one plan, errors and warnings alike.

    `entries` are nodes other plans' gotos lead to: reachable even when `start` never leads there.
    """
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
                problems.append(
                    source.problem(
                        ("nodes", name, *path),
                        f"{_describe(path)} goes to '{target}': no such node",
                        _did_you_mean(target, names, "known nodes"),
                    )
                )
    exits = _queue_exits(spec, source, problems)
    broken_graph = bool(problems)
    problems += _names(spec, source)
    problems += _prompts(spec, source)
    problems += _variables(spec, source)
    problems += _patterns(spec, source)
    problems += _urls(spec, source)
    problems += _silence(spec, source)
    if broken_graph:
        return problems
    problems += _graph(spec, source, {"start", *entries, *exits})
    return problems


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
                        _did_you_mean(other_name, list(by_name), "known plans")
                        + "; check every plan together: ivr check dialplans/",
                    )
                )
            elif node_name not in other.spec.nodes:
                problems.append(
                    _at(
                        plan,
                        path,
                        f"'target' goes to '{other_name}:{node_name}': plan '{other_name}' has "
                        "no such node",
                        _did_you_mean(node_name, list(other.spec.nodes), "known nodes"),
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


def _did_you_mean(target: str, names: list[str], known: str) -> str:
    close = difflib.get_close_matches(target, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{known}: " + (", ".join(sorted(names)) or "none")


def _queue_exits(spec: PlanSpec, source: Source, problems: list[Problem]) -> set[str]:
    """Nodes named as a queue's `exit` (the routing engine sends callers there)."""
    exits: set[str] = set()
    for queue, settings in spec.queues.items():
        problems.extend(_queue_settings(queue, settings, source))
        targets: list[tuple[tuple[str | int, ...], str, object]] = [
            (("exit",), "exit", settings.get("exit"))
        ]
        steps = settings.get("overflow")
        if isinstance(steps, list):
            for index, step in enumerate(steps):
                if isinstance(step, dict):
                    at: tuple[str | int, ...] = ("overflow", index, "goto")
                    targets.append((at, f"overflow step {index + 1}", step.get("goto")))
        for where, what, target in targets:
            if not isinstance(target, str):
                continue
            if target in spec.nodes:
                exits.add(target)
            else:
                problems.append(
                    source.problem(
                        ("queues", queue, *where),
                        f"queue '{queue}' {what} goes to '{target}': no such node",
                        _did_you_mean(target, list(spec.nodes), "known nodes"),
                    )
                )
    return exits


def _queue_settings(queue: str, settings: dict[str, Any], source: Source) -> list[Problem]:
    """A queue's settings, checked by the routing engine's own model."""
    try:
        QueueSpec.model_validate({"name": queue, **settings})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if loc:
                message = f"queue '{queue}': {'.'.join(str(p) for p in loc)}: {message}"
            problems.append(
                source.problem(
                    ("queues", queue, *loc),
                    message,
                    "see the queue settings in ivr/routing/queues.py (skills, strategy, "
                    "ring_timeout, wrapup, max_wait, max_callers, exit, sla_seconds, teams, "
                    "announce_every, max_misses, overflow, callback_after_abandon)",
                )
            )
        return problems
    return []


def _names(spec: PlanSpec, source: Source) -> list[Problem]:
    """Schedules, queues and caller lists that nodes name must be defined."""
    problems: list[Problem] = []

    def need(path: Path, what: str, name: str, table: Collection[str], where: str) -> None:
        if name not in table:
            problems.append(
                source.problem(
                    path,
                    f"{what} '{name}' is not defined in {where}:",
                    (
                        _did_you_mean(name, list(table), f"defined {where}")
                        if table
                        else f"add it under {where}: at the top of the plan"
                    ),
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


def _prompts(spec: PlanSpec, source: Source) -> list[Problem]:
    """Named prompts must exist, have the plan's language, and be used."""
    problems: list[Problem] = []
    used: set[str] = set()
    keys = list(spec.prompts)
    for path, items in prompt_lists(spec):
        for index, item in enumerate(items):
            schedule = item.removeprefix("opening:")
            if schedule != item and schedule not in spec.schedules:
                problems.append(
                    source.problem(
                        (*path, index),
                        f"opening:{schedule} names no schedule of the plan",
                        _did_you_mean(schedule, list(spec.schedules), "schedules"),
                    )
                )
            if not NODE_NAME.match(item):
                continue
            used.add(item)
            if item in spec.prompts:
                continue
            close = difflib.get_close_matches(item, keys, n=1, cutoff=0.6)
            fix = (
                f"did you mean '{close[0]}'?"
                if close
                else f"add it to prompts:, or write sound:{item} for the Asterisk sound"
            )
            problems.append(
                source.problem((*path, index), f"prompt '{item}' is not in prompts:", fix)
            )
    for key, versions in spec.prompts.items():
        if versions and spec.language not in versions:
            other = next(iter(versions))
            problems.append(
                source.problem(
                    ("prompts", key),
                    f"prompt '{key}' has no '{spec.language}' version (the plan's language); "
                    f"callers whose language it lacks hear the '{other}' one",
                    f"add {spec.language}: under it",
                    warning=True,
                )
            )
        if key not in used:
            problems.append(
                source.problem(
                    ("prompts", key),
                    f"prompt '{key}' is never used",
                    "use it in a node's prompt or delete it",
                    warning=True,
                )
            )
    return problems


def _variables(spec: PlanSpec, source: Source) -> list[Problem]:
    """Variables read by lookups and `when` should be stored by some collect or lookup."""
    stored = set(BUILTIN_VARS)
    for node in spec.nodes.values():
        if isinstance(node, CollectNode):
            stored.add(node.var)
        elif isinstance(node, LookupNode):
            stored.update(node.vars)
    reads: list[tuple[Path, str]] = []
    for name, node in spec.nodes.items():
        if isinstance(node, LookupNode):
            reads += [(("nodes", name, "params", p), v) for p, v in node.params.items()]
        elif isinstance(node, WhenNode):
            reads += [
                (("nodes", name, "cases", i, "var"), case.var)
                for i, case in enumerate(node.cases)
                if case.var is not None
            ]
    return [
        source.problem(
            path,
            f"variable '{var}' is never stored: no collect (var:) or lookup (vars:) sets it",
            _did_you_mean(var, sorted(stored), "known variables"),
            warning=True,
        )
        for path, var in reads
        if var not in stored
    ]


def _patterns(spec: PlanSpec, source: Source) -> list[Problem]:
    """Regular expressions must compile."""
    found: list[tuple[Path, str]] = []
    for name, node in spec.nodes.items():
        if isinstance(node, CollectNode) and node.pattern is not None:
            found.append((("nodes", name, "pattern"), node.pattern))
        elif isinstance(node, WhenNode):
            found += [
                (("nodes", name, "cases", i, "matches"), case.matches)
                for i, case in enumerate(node.cases)
                if case.matches is not None
            ]
    problems = []
    for path, pattern in found:
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            why = getattr(exc, "msg", str(exc))
            problems.append(
                source.problem(
                    path,
                    f"pattern '{pattern}' is not a regular expression: {why}",
                    "check its brackets and backslashes; in YAML put it in single quotes",
                )
            )
    return problems


def _urls(spec: PlanSpec, source: Source) -> list[Problem]:
    """Lookup URLs are fixed http(s) addresses; call variables travel in params only."""
    problems = []
    for name, node in spec.nodes.items():
        if not isinstance(node, LookupNode):
            continue
        path = ("nodes", name, "url")
        try:
            parts = urlsplit(node.url)
            host = parts.hostname
            _ = parts.port
        except ValueError:
            parts, host = None, None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            problems.append(
                source.problem(
                    path,
                    f"lookup url '{node.url}' is not an http(s) URL",
                    "write it as http://host:port/path, for example http://127.0.0.1:8099/orders",
                )
            )
        elif "{" in node.url or "}" in node.url:
            problems.append(
                source.problem(
                    path,
                    f"lookup url '{node.url}' cannot hold variables",
                    "send call variables with params: {name: variable}",
                )
            )
        elif parts.username is not None or parts.password is not None:
            problems.append(
                source.problem(
                    path,
                    "lookup url holds a user name or password",
                    "plan files are no place for secrets: let the backend trust the daemon's "
                    "address instead",
                )
            )
    return problems


def _silence(spec: PlanSpec, source: Source) -> list[Problem]:
    """Nodes that wait for keys should tell a silent caller why the prompt comes again."""
    problems = []
    for name, node in spec.nodes.items():
        waits = isinstance(node, MenuNode | CollectNode) or (
            isinstance(node, LanguageNode) and node.options
        )
        if waits and not getattr(node, "no_input", None) and getattr(node, "retries", 0) > 0:
            problems.append(
                source.problem(
                    ("nodes", name),
                    f"{node.type} '{name}' has no no_input prompt: after silence the caller "
                    "hears the prompt again without being told why",
                    "add no_input: (for example sound:please-try-again)",
                    warning=True,
                )
            )
    return problems


def _graph(spec: PlanSpec, source: Source, entries: set[str]) -> list[Problem]:
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
    """Nodes from which no terminal node (and no give-up) can ever be reached."""
    done = {name for name, node in spec.nodes.items() if _ends(node)}
    changed = True
    while changed:
        changed = False
        for name, node in spec.nodes.items():
            if name not in done and any(t in done for _, t in node_targets(node)):
                done.add(name)
                changed = True
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
    """Cycles made only of instant nodes (Tarjan's strongly connected components)."""
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

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in edges[name]:
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1 or name in edges[name]:
                loops.append(_in_walk_order(component, edges, order))

    for name in edges:
        if name not in index:
            visit(name)
    return sorted(loops, key=lambda loop: order[loop[0]])


def _in_walk_order(
    component: list[str], edges: dict[str, list[str]], order: dict[str, int]
) -> list[str]:
    """The loop's nodes as a caller walks them, from the one written first in the file."""
    members = set(component)
    walk = [min(component, key=order.__getitem__)]
    while True:
        following = [t for t in edges[walk[-1]] if t in members and t not in walk]
        if not following:
            return walk
        walk.append(following[0])
