"""Call variables that lookups and `when` read are stored by some collect or lookup."""

from __future__ import annotations

from ivr.plan.checks.suggest import Suggester
from ivr.plan.errors import Problem
from ivr.plan.nodes import CollectNode, LookupNode, WhenNode
from ivr.plan.source import Path, Source
from ivr.plan.spec import PlanSpec

# Every call has these from the start: the caller's number, the number dialled, the language.
BUILTIN_VARS = ("caller", "number", "language")


def check_variables(spec: PlanSpec, source: Source) -> list[Problem]:
    """A warning for each variable read that nothing stores."""
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
    suggest = Suggester(stored, "known variables")
    return [
        source.problem(
            path,
            f"variable '{var}' is never stored: no collect (var:) or lookup (vars:) sets it",
            suggest(var),
            warning=True,
        )
        for path, var in reads
        if var not in stored
    ]
