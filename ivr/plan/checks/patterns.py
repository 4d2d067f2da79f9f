"""The regular expressions of collect nodes and `when` cases compile."""

from __future__ import annotations

import re

from ivr.plan.errors import Problem
from ivr.plan.nodes import CollectNode, WhenNode
from ivr.plan.source import Path, Source
from ivr.plan.spec import PlanSpec


def check_patterns(spec: PlanSpec, source: Source) -> list[Problem]:
    """An error for each pattern that is not a regular expression."""
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
