"""Every check of one plan, in the order ops staff read the problems."""

from __future__ import annotations

from collections.abc import Collection

from ivr.plan.checks.languages import check_languages
from ivr.plan.checks.loops import check_loops
from ivr.plan.checks.names import check_names
from ivr.plan.checks.patterns import check_patterns
from ivr.plan.checks.prompts import check_prompts
from ivr.plan.checks.silence import check_silence
from ivr.plan.checks.targets import check_targets, queue_exits
from ivr.plan.checks.urls import check_urls
from ivr.plan.checks.variables import check_variables
from ivr.plan.emergency import check_emergency
from ivr.plan.errors import Problem
from ivr.plan.source import Source
from ivr.plan.spec import PlanSpec


def check_plan(spec: PlanSpec, source: Source, entries: Collection[str] = ()) -> list[Problem]:
    """Every semantic problem of one plan, errors and warnings alike.

    `entries` are nodes other plans' gotos lead to: reachable even when `start` never leads there.
    """
    problems = check_targets(spec, source)
    problems += check_emergency(spec.emergency, set(spec.nodes), source)
    # Loops and reachability mean little while branches lead nowhere.
    broken_graph = bool(problems)
    problems += check_names(spec, source)
    problems += check_prompts(spec, source)
    problems += check_languages(spec, source)
    problems += check_variables(spec, source)
    problems += check_patterns(spec, source)
    problems += check_urls(spec, source)
    problems += check_silence(spec, source)
    if broken_graph:
        return problems
    # The emergency node is entered while ops have closed the line.
    closed = [spec.emergency.next] if spec.emergency and spec.emergency.next else []
    problems += check_loops(spec, source, {"start", *entries, *queue_exits(spec), *closed})
    return problems
