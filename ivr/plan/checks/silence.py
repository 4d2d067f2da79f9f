"""Nodes that wait for keys tell a silent caller why the prompt comes again."""

from __future__ import annotations

from ivr.plan.errors import Problem
from ivr.plan.nodes import CollectNode, LanguageNode, MenuNode
from ivr.plan.source import Source
from ivr.plan.spec import PlanSpec


def check_silence(spec: PlanSpec, source: Source) -> list[Problem]:
    """A warning for each menu, collect or language choice that retries without no_input."""
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
