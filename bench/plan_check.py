"""How long `ivr check` takes on big generated plans: each check of one plan, and the whole.

    .venv/bin/python bench/plan_check.py [--nodes 6000 60000] [--shape chain tree]

Shapes: `chain` is one long line of play nodes ending in a hangup (the worst case for a
check that walks the graph backwards one step per pass), `tree` is a menu tree whose
options lead through short chains of announcements and gotos to queues and hangups.
Prints seconds per step; figures, no asserts.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from ivr.plan.checks.loops import check_loops
from ivr.plan.checks.names import check_names
from ivr.plan.checks.patterns import check_patterns
from ivr.plan.checks.prompts import check_prompts
from ivr.plan.checks.silence import check_silence
from ivr.plan.checks.targets import check_targets
from ivr.plan.checks.urls import check_urls
from ivr.plan.checks.variables import check_variables
from ivr.plan.load import parse_plan, read_text
from ivr.plan.source import parse, without_cyclic_gc

HEAD = """name: big
numbers: ["100"]
language: en
timezone: Europe/Moscow
prompts:
  hello: {en: "say:Hello.", ru: "say:Привет."}
queues:
  sales: {skills: {sales: 1}}
schedules:
  hours: {timezone: Europe/Moscow, weekly: {mon-fri: "09:00-18:00"}, closed: [2026-12-31]}
nodes:
"""


def chain_plan(nodes: int) -> str:
    """`nodes` play nodes in a line, start first, each leading to the next; a hangup last."""
    lines = [HEAD]
    for i in range(nodes - 1):
        name = "start" if i == 0 else f"n{i}"
        lines.append(f"  {name}: {{type: play, prompt: hello, next: n{i + 1}}}\n")
    lines.append(f"  n{nodes - 1}: {{type: hangup, prompt: sound:goodbye}}\n")
    return "".join(lines)


def tree_plan(nodes: int) -> str:
    """A menu tree: each option runs through a play, a tag and a goto into the next menu."""
    lines = [HEAD]
    count = 0  # nodes written
    menus = ["start"]  # menus named but not written yet
    while menus:
        menu = menus.pop(0)
        # Each pending menu will need one node at least (a hangup): keep room for them.
        if count + len(menus) + 1 + 2 + 3 * 3 > nodes:
            lines.append(f"  {menu}: {{type: hangup, prompt: sound:goodbye}}\n")
            count += 1
            continue
        options = {}
        for digit in "123":
            n = count
            options[digit] = f"p{n}"
            lines.append(f"  p{n}: {{type: play, prompt: hello, next: t{n}}}\n")
            lines.append(f"  t{n}: {{type: tag, tag: topic{n % 10}, next: g{n}}}\n")
            lines.append(f"  g{n}: {{type: goto, target: m{n}}}\n")
            menus.append(f"m{n}")
            count += 3
        listed = ", ".join(f'"{d}": {t}' for d, t in options.items())
        lines.append(
            f"  {menu}: {{type: menu, prompt: hello, no_input: hello, "
            f"options: {{{listed}, '0': q{menu}}}}}\n"
        )
        lines.append(f"  q{menu}: {{type: queue, queue: sales}}\n")
        count += 2
    return "".join(lines)


SHAPES: dict[str, Callable[[int], str]] = {"chain": chain_plan, "tree": tree_plan}
CHECKS = [
    check_targets,
    check_names,
    check_prompts,
    check_variables,
    check_patterns,
    check_urls,
    check_silence,
]


def timed(what: Callable[[], Any]) -> tuple[float, Any]:
    # As the loader runs them: with the cyclic garbage collector paused (ivr/plan/source.py).
    with without_cyclic_gc():
        start = time.perf_counter()
        result = what()
        return time.perf_counter() - start, result


def measure(shape: str, nodes: int) -> None:
    text = SHAPES[shape](nodes)
    seconds, _ = timed(lambda: parse(text, "big.yaml"))
    print(f"{shape} {nodes} nodes: YAML with positions {seconds:.2f} s")
    seconds, draft = timed(lambda: read_text(text, "big.yaml"))
    print(f"  read through the schema         {seconds:.2f} s ({len(draft.spec.nodes)} nodes)")
    for check in CHECKS:
        seconds, found = timed(lambda c=check: c(draft.spec, draft.source))  # type: ignore[misc]
        print(f"  {check.__name__:<31} {seconds:.3f} s ({len(found)} problems)")
    seconds, found = timed(lambda: check_loops(draft.spec, draft.source, {"start"}))
    print(f"  {'check_loops (no way out...)':<31} {seconds:.3f} s ({len(found)} problems)")
    seconds, (_, warnings) = timed(lambda: parse_plan(text, "big.yaml"))
    print(f"  whole check of the plan         {seconds:.2f} s ({len(warnings)} warnings)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[6000, 60000])
    parser.add_argument("--shape", nargs="+", choices=sorted(SHAPES), default=["chain", "tree"])
    args = parser.parse_args()
    for shape in args.shape:
        for nodes in args.nodes:
            measure(shape, nodes)


if __name__ == "__main__":
    main()
