"""Named prompts exist, have a version in the plan's language, and are used."""

from __future__ import annotations

from ivr.plan.checks.suggest import Suggester
from ivr.plan.errors import Problem
from ivr.plan.fields import NODE_NAME
from ivr.plan.prompts import prompt_lists
from ivr.plan.source import Source
from ivr.plan.spec import PlanSpec


def check_prompts(spec: PlanSpec, source: Source) -> list[Problem]:
    """Prompt names and `opening:` schedules that are not there; unused or partial prompts."""
    problems: list[Problem] = []
    used: set[str] = set()
    schedules = Suggester(spec.schedules, "schedules")
    keys = Suggester(spec.prompts, "prompts")
    for path, items in prompt_lists(spec):
        for index, item in enumerate(items):
            schedule = item.removeprefix("opening:")
            if schedule != item and schedule not in spec.schedules:
                problems.append(
                    source.problem(
                        (*path, index),
                        f"opening:{schedule} names no schedule of the plan",
                        schedules(schedule),
                    )
                )
            if not NODE_NAME.match(item):
                continue
            used.add(item)
            if item in spec.prompts:
                continue
            close = keys.close(item)
            fix = (
                f"did you mean '{close}'?"
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
