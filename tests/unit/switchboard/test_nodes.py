"""Every node kind of the plan language has an executor that starts it."""

from __future__ import annotations

import ast
import inspect

from ivr.plan.nodes import NODE_KINDS
from ivr.switchboard import nodes


def _cases(function: object) -> set[str]:
    tree = ast.parse(inspect.getsource(function))  # type: ignore[arg-type]
    return {
        pattern.cls.id
        for pattern in ast.walk(tree)
        if isinstance(pattern, ast.MatchClass) and isinstance(pattern.cls, ast.Name)
    }


def test_every_kind_of_node_starts_somewhere() -> None:
    kinds = {cls.__name__ for cls in NODE_KINDS.values()}
    assert kinds - _cases(nodes.enter) == set()
